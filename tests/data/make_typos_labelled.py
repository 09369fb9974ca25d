"""Build tests/data/typos_labelled.tsv: domains labelled with the correction a user would want.

Usage: python tests/data/make_typos_labelled.py (rewrites the TSV beside this script)

Deterministic (seeded); it reads data/mail_domains.txt, data/lookalikes.txt and the list of
top-level domains in data/public_suffix_list.dat and nothing else, and it does not import the
engine, so the labels never depend on the code they grade.

The file has two parts. The first (2,268 rows) is kept byte for byte as first made, so that its
held-out rows stay unseen by later tuning: it reads look-alikes only up to LOOKALIKES_LATER.
The second part is appended after it, made with its own seed, and brings the error classes and
hard negatives added later (see `build_second_part`).

Positives are typos of the domains in mail_domains.txt, made with the error kinds people make
on a QWERTY keyboard: a neighbouring key struck instead, two letters swapped, a letter left out
or doubled, a neighbouring key struck as well, a dot left out or added, a mistyped suffix
(".con", ".cm", ".co.ku", ...), or one mistake in the name and one in the suffix. Providers are
drawn with probability growing with their popularity (square root of the weight), so regional
providers appear too. The label is the domain the typo was made from; when the same string is
one mistake away from several providers, the label is the most popular of them (what a reader
would guess). Names of one to three characters (qq, aol, gmx, web, bk, wp...) get only suffix
and dot mistakes: every two- and three-letter name under .com or a country suffix is somebody's
real domain, so a changed short name has no single right answer.

Negatives are real, distinct domains: companies, universities, internet providers of many
countries, public bodies, short domains, businesses a keystroke from a mail provider, the
look-alikes, provider subdomains, internationalized domains, and the mail domains themselves.

Rows are shuffled within each part; every fifth row (row index % 5 == 4, counting data rows
from 0 over the whole file) is the held-out part, kept out of tuning and reported on its own.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE.parent.parent / "data"
OUT = HERE / "typos_labelled.tsv"
SEED = 20261122
N_GENERATED = 1060
SEED_SECOND = 20261206
N_COMMA = 70
N_SHORT = 110
N_TLD = 220
# Look-alikes listed after this line were added after the first part was made.
LOOKALIKES_LATER = "# --- Added with the second part of tests/data/typos_labelled.tsv"

_ROWS = ("1234567890-", "qwertyuiop", "asdfghjkl", "zxcvbnm")


def _neighbours() -> dict[str, str]:
    """Keys touching each key on a QWERTY keyboard (same row, and the rows above and below)."""
    pos = {ch: (r, c) for r, row in enumerate(_ROWS) for c, ch in enumerate(row)}
    out: dict[str, str] = {}
    for ch, (r, c) in pos.items():
        near = []
        for other, (r2, c2) in pos.items():
            if other == ch:
                continue
            # Rows are staggered by half a key: row r2 below r covers columns c-1 and c.
            same_row = r2 == r and abs(c2 - c) == 1
            below = r2 == r + 1 and c2 in (c - 1, c)
            above = r2 == r - 1 and c2 in (c, c + 1)
            if same_row or below or above:
                near.append(other)
        out[ch] = "".join(sorted(near))
    return out


NEAR = _neighbours()

# Suffix mistakes seen in real sign-up data, by intended suffix.
SUFFIX_SLIPS: dict[str, tuple[str, ...]] = {
    "com": (
        "con",
        "cm",
        "om",
        "co",
        "comm",
        "cmo",
        "ocm",
        "vom",
        "xom",
        "cpm",
        "clm",
        "coom",
        "cim",
        "c0m",
        "comn",
        "cok",
        "ccom",
        "coim",
        "colm",
    ),
    "net": ("nte", "ent", "ne", "nt", "met", "bet", "ner", "neet", "nett", "nwt", "ney"),
    "co.uk": ("co.ku", "co.u", "couk", "co.k", "co.uj", "cp.uk", "co.ul", "co.ukk", "c.uk"),
    "de": ("fe", "dr", "ed", "dee", "se", "d", "dw", "xe"),
    "fr": ("ft", "fe", "rf", "frr", "f", "vr", "dr"),
    "it": ("ti", "iy", "ir", "itt", "ot", "ut"),
    "ru": ("ry", "ur", "rru", "rh", "eu", "tu", "r"),
    "pl": ("lp", "p", "ol", "pll"),
    "com.br": ("con.br", "com.bt", "cm.br", "combr", "com.brr", "com.b", "ocm.br", "com.rb"),
    "com.au": ("con.au", "comau", "com.ua", "com.a", "cm.au", "com.auu"),
    "co.jp": ("co.pj", "co.j", "cojp", "co.jpp", "co.op"),
    "ne.jp": ("ne.pj", "ne.j", "nejp", "nr.jp", "ne.jpp"),
    "cz": ("zc", "cx", "c", "czz"),
    "nl": ("ln", "n", "nk", "nll"),
    "be": ("eb", "bw", "b", "bee"),
}

CORPORATE = """
amazon.com amazon.de amazon.co.uk amazon.co.jp amazon.fr facebook.com meta.com netflix.com
ibm.com oracle.com intel.com cisco.com dell.com hpe.com lenovo.com samsung.com sony.com lg.com
panasonic.com toshiba.co.jp hitachi.com fujitsu.com nec.com canon.com nikon.com siemens.com
bosch.com basf.com bayer.com sap.com allianz.com mercedes-benz.com bmw.com bmw.de
volkswagen.de vw.com audi.com porsche.com continental.com adidas.com puma.com nike.com
zalando.de otto.de lidl.de aldi.com rewe.de dm.de telekom.de dhl.com dhl.de deutschepost.de
bahn.de deutschebahn.com lufthansa.com airbus.com boeing.com lockheedmartin.com ge.com
ford.com tesla.com toyota.com honda.com hyundai.com kia.com volvo.com volvocars.com ikea.com
hm.com spotify.com ericsson.com nokia.com philips.com shell.com bp.com exxonmobil.com
chevron.com totalenergies.com eni.com enel.com edf.fr engie.com renault.com stellantis.com
michelin.com loreal.com danone.com lvmh.com hermes.com chanel.com airfrance.fr sncf.fr
bnpparibas.com societegenerale.com credit-agricole.com axa.com carrefour.com auchan.fr
decathlon.com unilever.com nestle.com novartis.com roche.com ubs.com abb.com swisscom.ch
migros.ch coop.ch sbb.ch swatch.com rolex.com heineken.com ing.com abnamro.nl rabobank.nl
asml.com kpn.com ahold.com booking.com adyen.com bol.com coolblue.nl tomtom.com kbc.be
belfius.be colruyt.be solvay.com bbc.co.uk bbc.com hsbc.com hsbc.co.uk barclays.co.uk
barclays.com lloydsbank.com natwest.com tesco.com sainsburys.co.uk asda.com
marksandspencer.com boots.com vodafone.com vodafone.co.uk gsk.com astrazeneca.com
rolls-royce.com baesystems.com riotinto.com glencore.com aviva.com nationwide.co.uk
royalmail.com theguardian.com telegraph.co.uk ft.com economist.com itv.com channel4.com
johnlewis.com argos.co.uk currys.co.uk ocado.com deliveroo.co.uk monzo.com revolut.com
wise.com arm.com dyson.com walmart.com target.com costco.com homedepot.com lowes.com
bestbuy.com kroger.com cvs.com walgreens.com jpmorgan.com chase.com bankofamerica.com
wellsfargo.com citi.com goldmansachs.com morganstanley.com blackrock.com vanguard.com
fidelity.com schwab.com americanexpress.com visa.com mastercard.com paypal.com stripe.com
intuit.com salesforce.com adobe.com autodesk.com vmware.com nvidia.com amd.com qualcomm.com
broadcom.com micron.com ti.com github.com gitlab.com atlassian.com slack.com zoom.us
dropbox.com box.com airbnb.com uber.com lyft.com doordash.com instacart.com twitter.com x.com
linkedin.com pinterest.com reddit.com snap.com tiktok.com bytedance.com twitch.tv discord.com
yelp.com ebay.com etsy.com shopify.com wayfair.com chewy.com zillow.com expedia.com
tripadvisor.com marriott.com hilton.com hyatt.com delta.com united.com aa.com southwest.com
jetblue.com fedex.com ups.com usps.com coca-cola.com pepsico.com mcdonalds.com starbucks.com
kfc.com subway.com pfizer.com jnj.com merck.com abbvie.com lilly.com amgen.com gilead.com
modernatx.com unitedhealthgroup.com aetna.com cigna.com humana.com kaiserpermanente.org
mayoclinic.org clevelandclinic.org conocophillips.com duke-energy.com pge.com 3m.com
honeywell.com caterpillar.com cat.com deere.com rtx.com northropgrumman.com gd.com spacex.com
disney.com warnerbros.com nbcuniversal.com cbs.com fox.com cnn.com nytimes.com
washingtonpost.com wsj.com bloomberg.net bloomberg.com reuters.com apnews.com npr.org pbs.org
alibaba.com alibaba-inc.com tencent.com baidu.com huawei.com xiaomi.com jd.com meituan.com
netease.com sina.com.cn weibo.com zte.com.cn byd.com haier.com icbc.com.cn bankofchina.com
chinamobile.com sony.co.jp rakuten.co.jp rakuten.com softbank.jp ntt.co.jp kddi.com
uniqlo.com nintendo.co.jp nintendo.com mitsubishi.com mufg.jp smbc.co.jp line.me lge.com
sk.com kakaocorp.com coupang.com posco.com tata.com tcs.com infosys.com wipro.com ril.com
hdfcbank.com icicibank.com sbi.co.in airtel.in jio.com flipkart.com zomato.com paytm.com
grab.com gojek.com tokopedia.com shopee.com sea.com dbs.com singtel.com ocbc.com maybank.com
petronas.com telstra.com.au telstra.com optus.com.au anz.com nab.com.au westpac.com.au
commbank.com.au bhp.com woolworths.com.au coles.com.au qantas.com canva.com abc.net.au
csiro.au spark.co.nz airnewzealand.co.nz xero.com petrobras.com.br vale.com itau.com.br
bradesco.com.br nubank.com.br mercadolibre.com mercadolivre.com.br magazineluiza.com.br
natura.com.br ambev.com.br embraer.com claro.com.br vivo.com.br tim.com.br
americanas.com.br pemex.com cemex.com telmex.com grupobimbo.com televisa.com falabella.com
latam.com codelco.com ypf.com sberbank.ru sber.ru gazprom.ru lukoil.com rosneft.ru rzd.ru
aeroflot.ru mts.ru beeline.ru megafon.ru rostelecom.ru kaspersky.com kaspersky.ru avito.ru
ozon.ru wildberries.ru ok.ru hh.ru gosuslugi.ru kremlin.ru pkobp.pl mbank.pl allegro.pl
orlen.pl pzu.pl play.pl plus.pl orange.pl cdprojekt.com skoda-auto.com cez.cz alza.cz
avast.com f-secure.com elisa.fi telenor.com equinor.com dnb.no maersk.com novonordisk.com
lego.com carlsberg.com danskebank.dk wolt.com supercell.com klarna.com h-m.com scania.com
atlascopco.com sandvik.com electrolux.com skf.com tetrapak.com mojang.com king.com
telefonica.com movistar.es bbva.com santander.com caixabank.com inditex.com zara.com
iberdrola.com repsol.com mapfre.com mercadona.es elcorteingles.es seat.es nos.pt meo.pt
edp.com galp.com jeronimomartins.com unicredit.it intesasanpaolo.com generali.com fiat.com
ferrari.com pirelli.com luxottica.com barilla.com prada.com gucci.com armani.com
telecomitalia.it fastweb.it windtre.it iliad.it iliad.fr bouyguestelecom.fr free-mobile.fr
ovhcloud.com scaleway.com dassault-systemes.com capgemini.com atos.net sopra.com thalesgroup.com
safrangroup.com vinci.com saint-gobain.com schneider-electric.com legrand.com veolia.com
suez.com accor.com sodexo.com kering.com publicis.com vivendi.com ubisoft.com
"""

UNIVERSITIES = """
mit.edu stanford.edu harvard.edu berkeley.edu caltech.edu princeton.edu yale.edu columbia.edu
cornell.edu upenn.edu uchicago.edu nyu.edu umich.edu ucla.edu ucsd.edu uw.edu washington.edu
utexas.edu gatech.edu cmu.edu andrew.cmu.edu illinois.edu wisc.edu umn.edu psu.edu osu.edu
purdue.edu duke.edu unc.edu virginia.edu vt.edu jhu.edu brown.edu dartmouth.edu rice.edu
northwestern.edu bu.edu bc.edu usc.edu asu.edu ufl.edu fsu.edu tamu.edu colorado.edu
arizona.edu utah.edu uiowa.edu iu.edu indiana.edu msu.edu rutgers.edu pitt.edu rochester.edu
emory.edu vanderbilt.edu tufts.edu georgetown.edu gwu.edu g.harvard.edu alumni.stanford.edu
ox.ac.uk cam.ac.uk imperial.ac.uk ucl.ac.uk lse.ac.uk kcl.ac.uk ed.ac.uk manchester.ac.uk
bristol.ac.uk warwick.ac.uk live.warwick.ac.uk gla.ac.uk st-andrews.ac.uk leeds.ac.uk
sheffield.ac.uk nottingham.ac.uk soton.ac.uk bham.ac.uk york.ac.uk durham.ac.uk exeter.ac.uk
qmul.ac.uk my.westminster.ac.uk open.ac.uk tcd.ie ucd.ie ethz.ch epfl.ch uzh.ch unibas.ch
tum.de lmu.de uni-heidelberg.de fu-berlin.de hu-berlin.de tu-berlin.de rwth-aachen.de kit.edu
uni-bonn.de uni-koeln.de uni-hamburg.de campus.lmu.de tu-dresden.de univie.ac.at tuwien.ac.at
uva.nl student.uva.nl uu.nl tudelft.nl student.tudelft.nl leidenuniv.nl rug.nl ru.nl
kuleuven.be student.kuleuven.be ugent.be ulb.be uclouvain.be sorbonne-universite.fr ens.fr
polytechnique.edu sciencespo.fr u-paris.fr univ-lyon1.fr hec.edu insead.edu unimi.it
unibo.it uniroma1.it polimi.it mail.polimi.it unipd.it unito.it ub.edu uam.es ucm.es upm.es
uc3m.es ulisboa.pt up.pt ku.dk au.dk lu.se kth.se uu.se su.se chalmers.se uio.no ntnu.no
helsinki.fi aalto.fi utoronto.ca mail.utoronto.ca mcgill.ca mail.mcgill.ca ubc.ca
uwaterloo.ca ualberta.ca queensu.ca mcmaster.ca umontreal.ca unimelb.edu.au
student.unimelb.edu.au sydney.edu.au uni.sydney.edu.au unsw.edu.au anu.edu.au uq.edu.au
monash.edu student.monash.edu auckland.ac.nz otago.ac.nz u-tokyo.ac.jp kyoto-u.ac.jp
osaka-u.ac.jp tsinghua.edu.cn mails.tsinghua.edu.cn pku.edu.cn fudan.edu.cn zju.edu.cn
sjtu.edu.cn nus.edu.sg u.nus.edu ntu.edu.sg e.ntu.edu.sg hku.hk cuhk.edu.hk ust.hk snu.ac.kr
kaist.ac.kr yonsei.ac.kr korea.ac.kr iitb.ac.in iitd.ac.in iisc.ac.in usp.br unicamp.br
ufrj.br unam.mx uba.ar uc.cl uchile.cl uct.ac.za wits.ac.za technion.ac.il huji.ac.il
tau.ac.il weizmann.ac.il msu.ru spbu.ru hse.ru mipt.ru uw.edu.pl pw.edu.pl agh.edu.pl
cuni.cz cvut.cz muni.cz
"""

PUBLIC_BODIES = """
nasa.gov nih.gov cdc.gov irs.gov whitehouse.gov state.gov usa.gov army.mil navy.mil af.mil
gov.uk nhs.net nhs.uk parliament.uk europa.eu ec.europa.eu nato.int who.int un.org
worldbank.org imf.org oecd.org redcross.org unicef.org greenpeace.org amnesty.org
wikipedia.org wikimedia.org mozilla.org apache.org python.org kernel.org debian.org
ubuntu.com redhat.com suse.com w3.org ietf.org icann.org eff.org acm.org ieee.org
bund.de bundestag.de admin.ch gouv.fr service-public.fr governo.it gob.es gov.br gob.mx
canada.ca gc.ca gov.au govt.nz gov.in go.jp gov.cn gov.sg gov.za gov.il
"""

# Internet providers' and telecoms' own (corporate) domains, many countries.
TELECOMS = """
vodafone.de o2online.de o2.de 1und1.de ionos.de ionos.com strato.de hetzner.com hetzner.de
netcologne.de ewe.de m-net.de swisscom.com salt.ch upc.ch a1.at magenta.at drei.at
proximus.com kpn.nl vodafoneziggo.nl telenor.no telia.se elisa.com dna.fi tdc.dk
orange.es orange.be orange.ro  bouygues.com  rostelecom.com mts.by
kyivstar.ua lifecell.ua turkcell.com.tr ttnet.com.tr turktelekom.com.tr etisalat.ae du.ae
stc.com.sa zain.com ooredoo.com mtn.com vodacom.co.za telkom.co.za safaricom.co.ke
airtel.com bsnl.co.in  ntt.com  kt.com skbroadband.com
 chinaunicom.com chinatelecom.com.cn pldt.com globe.com.ph smart.com.ph
telkomsel.com indosat.com ais.co.th truecorp.co.th viettel.com.vn vnpt.vn starhub.com
m1.com.sg tm.com.my maxis.com.my celcom.com.my  one.nz 2degrees.nz tpgtelecom.com.au
aussiebroadband.com.au vocus.com.au claro.com telcel.com movistar.com.ar personal.com.ar
entel.cl wom.cl tigo.com antel.com.uy bell.ca   videotron.com
spectrum.com xfinity.com cox.com centurylink.com lumen.com t-mobile.com
sprint.com verizonwireless.com optimum.com windstream.com consolidated.com ee.co.uk
three.co.uk virgin.com virginmedia.ie talktalk.co.uk
 eir.ie o2.co.uk   kcom.com hyperoptic.com
"""

# Real businesses and sites whose names sit a keystroke or two from a mail provider.
NEAR_PROVIDERS = """
hotjar.com hotmart.com hotwire.com hotels.com hotbot.com gmat.com gmc.com gm.com macys.com
mailchimp.com mailgun.com mailjet.com mailerlite.com livejournal.com livenation.com li.me
lookout.com outlookindia.com cloud.com ucloud.cn yoox.com yandex.com.tr yandex.net
yandex.cloud msc.com msg.com ms.com aon.com aoc.com ao.com srf.ch laposte.fr bk.com wp.com
terra.com rediff.com zoho.eu zohocorp.com yahooinc.com t-online.hu t-mobile.de t-systems.com
mil.ru mai.ru weg.de web.com qz.com vk.com love.com life.com gmailer-consulting.com
mountsinai.org ikea.de protonvpn.com tinder.com charter.com spectrum.net optimum.net
inboxdollars.com skype.com sky.de sky.it
"""

# Written in Unicode; the rows carry their A-label (punycode) form.
IDN = """
müller.de bücher.ch café.fr straße.de øl.dk köln.de zürich.ch españa.com россия.рф
правительство.рф 例え.jp 中国.cn 日本語.jp 한국.kr μπανανα.gr ñandú.com
"""

SUBDOMAINS = """
mail.google.com smtp.gmail.com outlook.office365.com imap.gmx.net mx1.web.de smtp.mail.ru
mx.yandex.ru mail.yahoo.com pop.aol.com smtp.office365.com mail.protonmail.ch
mx.zoho.com smtp.sendgrid.net email.apple.com e.mail.ru corp.comcast.com
"""


def _words(block: str) -> list[str]:
    return block.split()


def _read(path: Path, *, until: str | None = None) -> Iterator[str]:
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if until is not None and line.startswith(until):
                return
            text = line.split("#", 1)[0].strip().lower()
            if text:
                yield text


def _public_suffixes() -> set[str]:
    """The ICANN section of the Public Suffix List: top-level domains and the rules below them."""
    rules: set[str] = set()
    icann = False
    with (DATA / "public_suffix_list.dat").open(encoding="utf-8") as fh:
        for line in fh:
            line = line.strip()
            if "===BEGIN ICANN DOMAINS===" in line:
                icann = True
            elif "===END ICANN DOMAINS===" in line:
                break
            elif icann and line and not line.startswith("//"):
                rule = line.lstrip("!*.").encode("idna").decode("ascii")
                rules.add(rule)
    return rules


def _mail_domains() -> dict[str, float]:
    weights: dict[str, float] = {}
    for line in _read(DATA / "mail_domains.txt"):
        parts = line.split()
        weights[parts[0]] = float(parts[1]) if len(parts) > 1 else 1.0
    return weights


def _split(domain: str, suffixes: set[str]) -> tuple[str, str]:
    """Name and suffix of a provider domain (the longest known suffix wins)."""
    labels = domain.split(".")
    for i in range(1, len(labels)):
        suffix = ".".join(labels[i:])
        if suffix in suffixes or i == len(labels) - 1:
            return ".".join(labels[:i]), suffix
    return domain, ""


# Single mistakes inside a string of letters, digits and hyphens.


def _pick_position(rng: random.Random, n: int) -> int:
    # Studies of typing errors find the first letter mistyped far less often than the others.
    weights = [0.3] + [1.0] * (n - 1)
    return rng.choices(range(n), weights=weights)[0]


def _substitute(s: str, rng: random.Random) -> str | None:
    i = _pick_position(rng, len(s))
    near = [c for c in NEAR.get(s[i], "") if c != "-"]
    return s[:i] + rng.choice(near) + s[i + 1 :] if near else None


def _transpose(s: str, rng: random.Random) -> str | None:
    spots = [i for i in range(len(s) - 1) if s[i] != s[i + 1]]
    if not spots:
        return None
    i = rng.choice(spots)
    return s[:i] + s[i + 1] + s[i] + s[i + 2 :]


def _omit(s: str, rng: random.Random) -> str | None:
    if len(s) < 2:
        return None
    i = _pick_position(rng, len(s))
    return s[:i] + s[i + 1 :]


def _double(s: str, rng: random.Random) -> str | None:
    i = _pick_position(rng, len(s))
    return s[: i + 1] + s[i] + s[i + 1 :]


def _insert_near(s: str, rng: random.Random) -> str | None:
    i = _pick_position(rng, len(s))
    near = [c for c in NEAR.get(s[i], "") if c != "-"]
    if not near:
        return None
    extra = rng.choice(near)
    return s[:i] + extra + s[i:] if rng.random() < 0.5 else s[: i + 1] + extra + s[i + 1 :]


NAME_SLIPS = (
    (_substitute, 0.27),
    (_transpose, 0.22),
    (_omit, 0.22),
    (_double, 0.14),
    (_insert_near, 0.15),
)


def _name_slip(name: str, rng: random.Random) -> str | None:
    funcs, weights = zip(*NAME_SLIPS, strict=True)
    return rng.choices(funcs, weights=weights)[0](name, rng)


def _suffix_slip(suffix: str, rng: random.Random) -> str | None:
    listed = SUFFIX_SLIPS.get(suffix)
    if listed and rng.random() < 0.7:
        return rng.choice(listed)
    letters = suffix.replace(".", "")
    if len(letters) < 2:
        return None
    out = _name_slip(suffix, rng)
    if out is None or out.startswith(".") or out.endswith(".") or ".." in out:
        return None
    return out


def _typo(domain: str, rng: random.Random, suffixes: set[str]) -> tuple[str, str] | None:
    """One realistic typo of a provider domain, with the kind of mistake."""
    name, suffix = _split(domain, suffixes)
    short = len(name) <= 3
    kinds = {
        "name": 0.0 if short else 0.62,
        "suffix": 0.22,
        "dot": 0.06,
        "both": 0.0 if short else 0.10,
    }
    kind = rng.choices(list(kinds), weights=list(kinds.values()))[0]
    if kind == "name":
        new = _name_slip(name, rng)
        return (f"{new}.{suffix}", "name") if new else None
    if kind == "suffix":
        new = _suffix_slip(suffix, rng)
        return (f"{name}.{new}", "suffix") if new else None
    if kind == "both":
        a, b = _name_slip(name, rng), _suffix_slip(suffix, rng)
        return (f"{a}.{b}", "both") if a and b else None
    # Dots: most often the one before the suffix is left out; sometimes one slips into the name.
    if rng.random() < 0.8 or short:
        if "." in suffix and rng.random() < 0.3:
            return f"{name}.{suffix.replace('.', '')}", "dot"
        return f"{name}{suffix}", "dot"
    i = rng.randrange(1, len(name))
    return f"{name[:i]}.{name[i:]}.{suffix}", "dot"


FAMOUS = """
gmial.com gmail.com
gamil.com gmail.com
gmai.com gmail.com
gmal.com gmail.com
gmaill.com gmail.com
gnail.com gmail.com
gmail.con gmail.com
gmail.co gmail.com
gmail.cm gmail.com
gmail.om gmail.com
gmailcom gmail.com
gmail.comm gmail.com
gmaik.com gmail.com
gmsil.com gmail.com
gmail.cmo gmail.com
gmali.com gmail.com
gemail.com gmail.com
gmail.com.com gmail.com
hotmial.com hotmail.com
hotmal.com hotmail.com
hotmai.com hotmail.com
homail.com hotmail.com
hotamil.com hotmail.com
hotmail.con hotmail.com
hotmil.com hotmail.com
hotmial.co.uk hotmail.co.uk
hotmail.co.ku hotmail.co.uk
hotmail.couk hotmail.co.uk
hotmali.fr hotmail.fr
yahoo.con yahoo.com
yaho.com yahoo.com
yhoo.com yahoo.com
yahooo.com yahoo.com
yaoo.com yahoo.com
yhaoo.com yahoo.com
yahoo.cm yahoo.com
yahoo.co.uj yahoo.co.uk
yahoo.fe yahoo.fr
outlok.com outlook.com
outllok.com outlook.com
outloo.com outlook.com
oulook.com outlook.com
outlook.con outlook.com
iclod.com icloud.com
icoud.com icloud.com
iclould.com icloud.com
icloud.con icloud.com
aol.con aol.com
comcast.ner comcast.net
comcat.net comcast.net
verizon.ner verizon.net
sbcgloabl.net sbcglobal.net
bellsouth.ne bellsouth.net
btinternt.com btinternet.com
btinternet.co btinternet.com
gmx.dr gmx.de
web.fe web.de
t-onlne.de t-online.de
freenet.fe freenet.de
orange.ft orange.fr
wanado.fr wanadoo.fr
laposte.ner laposte.net
libero.ti libero.it
virgillio.it virgilio.it
yandex.ry yandex.ru
yandx.ru yandex.ru
mail.ry mail.ru
rambler.ry rambler.ru
qq.con qq.com
163.con 163.com
naver.con naver.com
hanmail.ner hanmail.net
rediffmail.con rediffmail.com
rediffmal.com rediffmail.com
"""


def _reachable(weights: dict[str, float], suffixes: set[str]) -> dict[str, list[str]]:
    """Every string one generator mistake away from a provider -> the providers it came from."""
    out: dict[str, list[str]] = {}

    def add(text: str, source: str) -> None:
        out.setdefault(text, [])
        if source not in out[text]:
            out[text].append(source)

    for domain in weights:
        name, suffix = _split(domain, suffixes)
        variants: set[str] = set()
        if len(name) > 3:
            variants |= {f"{v}.{suffix}" for v in _all_slips(name)}
        variants |= {f"{name}.{v}" for v in _all_slips(suffix) if _clean(v)}
        variants |= {f"{name}.{v}" for v in SUFFIX_SLIPS.get(suffix, ())}
        variants.add(f"{name}{suffix}")
        variants.add(f"{name}.{suffix.replace('.', '')}")
        for v in variants:
            add(v, domain)
    return out


def _clean(s: str) -> bool:
    return bool(s) and not s.startswith(".") and not s.endswith(".") and ".." not in s


def _all_slips(s: str) -> set[str]:
    out: set[str] = set()
    for i, ch in enumerate(s):
        out.add(s[:i] + s[i + 1 :])
        out.add(s[: i + 1] + ch + s[i + 1 :])
        if i + 1 < len(s):
            out.add(s[:i] + s[i + 1] + s[i] + s[i + 2 :])
        for c in NEAR.get(ch, ""):
            if c == "-":
                continue
            out.add(s[:i] + c + s[i + 1 :])
            out.add(s[:i] + c + s[i:])
            out.add(s[: i + 1] + c + s[i + 1 :])
    out.discard(s)
    return {v for v in out if v}


def build() -> list[tuple[str, str, str]]:
    rng = random.Random(SEED)
    weights = _mail_domains()
    lookalikes = set(_read(DATA / "lookalikes.txt", until=LOOKALIKES_LATER))
    suffixes = {d.split(".", 1)[1] for d in weights if "." in d}
    suffixes |= {".".join(d.split(".")[-2:]) for d in weights if d.count(".") >= 2}

    negatives: list[tuple[str, str, str]] = []
    for kind, block in (
        ("corporate", CORPORATE),
        ("university", UNIVERSITIES),
        ("public", PUBLIC_BODIES),
        ("telecom", TELECOMS),
        ("near-provider", NEAR_PROVIDERS),
        ("idn", IDN),
        ("subdomain", SUBDOMAINS),
    ):
        for word in _words(block):
            domain = word.encode("idna").decode("ascii") if kind == "idn" else word
            negatives.append((domain, "", kind))
    negatives += [(d, "", "lookalike") for d in sorted(lookalikes)]
    known = sorted(weights)
    negatives += [(d, "", "mail-domain") for d in rng.sample(known, 120)]

    taken = {d for d, _, _ in negatives} | set(weights) | lookalikes
    neg_seen: set[str] = set()
    unique_neg = []
    for row in negatives:
        if row[0] not in neg_seen:
            neg_seen.add(row[0])
            unique_neg.append(row)

    reach = _reachable(weights, suffixes)

    positives: list[tuple[str, str, str]] = []
    seen: set[str] = set()
    for line in FAMOUS.strip().splitlines():
        typo, label = line.split()
        positives.append((typo, label, "famous"))
        seen.add(typo)

    providers = sorted(weights)
    draw = [math.sqrt(weights[d]) for d in providers]
    while len(positives) < N_GENERATED + len(FAMOUS.strip().splitlines()):
        source = rng.choices(providers, weights=draw)[0]
        made = _typo(source, rng, suffixes)
        if made is None:
            continue
        typo, kind = made
        if typo in seen or typo in taken or typo == source:
            continue
        sources = reach.get(typo, [source])
        label = max(sources, key=lambda d: (weights[d], d == source, d))
        seen.add(typo)
        positives.append((typo, label, kind))

    rows = positives + unique_neg
    rng.shuffle(rows)
    return rows


# --- The second part -------------------------------------------------------------------------

# Real domains that a careless corrector would change: short domains one key from a short
# provider, domains under real top-level domains one key from .com or .net (.co, .cm, .om, .me,
# .io, .ai, .so, .ly...), and the names that intranets use (RFC 6761 and RFC 6762 special-use
# names, .internal, and the home/corp/lan habits). Each is a real, distinct domain or a name
# that must never turn into a public one.
HARD_NEGATIVES = """
aok.de al.com gmc.com gm.com weg.de web.com bk.com q.com qz.com ok.ru mts.ru ing.de yle.fi
meta.com line.me sina.com.cn post.ch post.at tim.it tin.it
t.co angel.co mono.co paystack.co about.me notion.so bit.ly x.ai mistral.ai perplexity.ai
github.io crates.io itch.io fly.io lu.ma deno.land vercel.app linear.app gencat.cat omantel.om
mtn.cm mtn.ng unilag.edu.ng jumia.com.ng squ.edu.om nic.io
corp.local mail.internal host.lan printer.home example.test mail.example user.invalid
host.localhost nas.home.arpa intranet.corp
"""


def _split_public(domain: str, rules: set[str]) -> tuple[str, str] | None:
    """(name, public suffix) by the longest ICANN rule that leaves a name, else None."""
    labels = domain.split(".")
    for i in range(1, len(labels)):
        suffix = ".".join(labels[i:])
        if suffix in rules:
            return ".".join(labels[:i]), suffix
    return None


def _leaves_the_list(slipped: str, meant: str, rules: set[str]) -> bool:
    """Whether a mistyped suffix is no public suffix at all, so that it has one right answer.

    A slip that lands on a real top-level domain (".co", ".cm" and ".om" for ".com") or on another
    public suffix (".com.ua" for ".com.au") could be meant, and one that leaves a single letter
    (".c") is the start of a dozen country codes: both are left out.
    """
    if not _clean(slipped) or slipped in rules:
        return False
    last = slipped.rsplit(".", 1)[-1]
    if len(last) < 2:
        return False  # ".c" is a cut-off .ca, .ch, .cn or .co alike: no single right answer
    if last not in rules:
        return True
    # "con.br" for "com.br": the top-level domain is kept and the label below it is mangled.
    return "." in slipped and last == meant.rsplit(".", 1)[-1] and "." in meant


def _short_slips(name: str) -> set[str]:
    """The slips of a short name that have one right answer: any for four letters, else doubling."""
    if len(name) > 3:
        return _all_slips(name)
    return {name[: i + 1] + ch + name[i + 1 :] for i, ch in enumerate(name)}


def build_second_part(first: list[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
    """Rows for the classes added later, never repeating a row of `first`.

    Positives: a comma typed for a dot ("gmail,com"); a slip in a provider name of four letters
    or fewer (a doubled, dropped or neighbouring letter for four letters; a doubled letter for
    three or fewer, whose other slips make somebody else's real short domain); and a mistyped
    suffix on any domain ("acme.con", "uni.edu.c0m"), kept only when the slip leaves the Public
    Suffix List and more than one letter (`_leaves_the_list`). Negatives: HARD_NEGATIVES.
    """
    rng = random.Random(SEED_SECOND)
    weights = _mail_domains()
    lookalikes = set(_read(DATA / "lookalikes.txt"))
    rules = _public_suffixes()
    suffixes = {d.split(".", 1)[1] for d in weights if "." in d}
    suffixes |= {".".join(d.split(".")[-2:]) for d in weights if d.count(".") >= 2}
    providers = sorted(weights)
    draw = [math.sqrt(weights[d]) for d in providers]

    seen = {d for d, _, _ in first}
    taken = seen | set(weights) | lookalikes
    for block in (CORPORATE, UNIVERSITIES, PUBLIC_BODIES, TELECOMS, NEAR_PROVIDERS, SUBDOMAINS):
        taken |= set(_words(block))
    hard = [d for d in dict.fromkeys(_words(HARD_NEGATIVES)) if d not in seen]
    taken |= set(hard)
    rows: list[tuple[str, str, str]] = [(d, "", "hard") for d in hard]

    def add(typo: str, label: str, kind: str) -> bool:
        if typo in seen or typo in taken:
            return False
        seen.add(typo)
        rows.append((typo, label, kind))
        return True

    made = 0
    while made < N_COMMA:
        source = rng.choices(providers, weights=draw)[0]
        dots = [i for i, ch in enumerate(source) if ch == "."]
        i = rng.choice(dots)
        made += add(source[:i] + "," + source[i + 1 :], source, "comma")

    # Which provider a short-name slip most likely came from: the most popular that reaches it.
    reach: dict[str, list[str]] = {}
    short = [d for d in providers if len(_split(d, suffixes)[0]) <= 4]
    for domain in short:
        name, suffix = _split(domain, suffixes)
        for slip in _short_slips(name):
            reach.setdefault(f"{slip}.{suffix}", []).append(domain)
    short_draw = [math.sqrt(weights[d]) for d in short]
    made = 0
    while made < N_SHORT:
        source = rng.choices(short, weights=short_draw)[0]
        name, suffix = _split(source, suffixes)
        if len(name) > 3:
            slip = rng.choices((_double, _omit, _substitute), weights=(0.3, 0.35, 0.35))[0]
            new = slip(name, rng)
        else:
            new = _double(name, rng)
        if not new or new == name:
            continue
        typo = f"{new}.{suffix}"
        label = max(reach.get(typo, [source]), key=lambda d: (weights[d], d == source, d))
        made += add(typo, label, "short")

    sources = []
    for block in (CORPORATE, UNIVERSITIES, PUBLIC_BODIES, TELECOMS, NEAR_PROVIDERS):
        for domain in _words(block):
            split = _split_public(domain, rules)
            if split is not None and domain not in weights and domain not in lookalikes:
                sources.append((domain, *split))
    made = 0
    tries = 0
    while made < N_TLD and tries < 100 * N_TLD:
        tries += 1
        domain, name, suffix = rng.choice(sources)
        listed = SUFFIX_SLIPS.get(suffix)
        if listed and rng.random() < 0.7:
            slipped: str | None = rng.choice(listed)
        elif rng.random() < 0.15 and "." in suffix:
            slipped = suffix.replace(".", "")
        else:
            slipped = _name_slip(suffix, rng)
        if not slipped or slipped == suffix or not _leaves_the_list(slipped, suffix, rules):
            continue
        made += add(f"{name}.{slipped}", domain, "tld")

    rng.shuffle(rows)
    return rows


def main() -> None:
    first = build()
    rows = first + build_second_part(first)
    with OUT.open("w", encoding="utf-8") as fh:
        fh.write("# input\texpected\tkind   (made by make_typos_labelled.py; do not edit)\n")
        fh.write(
            "# expected is empty when no correction is wanted; rows 4, 9, 14... are held out\n"
        )
        for domain, label, kind in rows:
            fh.write(f"{domain}\t{label}\t{kind}\n")
    pos = sum(1 for _, label, _ in rows if label)
    print(f"{OUT.name}: {len(rows)} rows, {pos} positives, {len(rows) - pos} negatives")


if __name__ == "__main__":
    main()
