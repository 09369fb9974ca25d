"""GET /v1/jobs a page at a time: limit, an opaque cursor (or `after`), a `next` link."""

from __future__ import annotations

from pathlib import Path

from tests.service.inprocess import running


async def test_jobs_are_listed_newest_first_a_page_at_a_time(tmp_path: Path) -> None:
    async with running(None, tmp_path) as svc:
        c = svc.client
        mine = {"X-API-Key": svc.key}
        other = {"X-API-Key": svc.new_key("other")}
        made = []
        for i in range(7):
            reply = await c.post("/v1/jobs", json={"emails": [f"x{i}"]}, headers=mine)
            made.append(reply.json()["id"])
            await c.post("/v1/jobs", json={"emails": ["y"]}, headers=other)
        newest_first = made[::-1]

        seen: list[str] = []
        pages = []
        link: str | None = "/v1/jobs?limit=3"
        while link is not None and len(pages) < 10:
            page = await c.get(link, headers=mine)
            assert page.status_code == 200
            body = page.json()
            pages.append([j["id"] for j in body["jobs"]])
            seen += pages[-1]
            link = body["next"]
            if link is not None:
                assert page.headers["link"] == f'<{link}>; rel="next"'
                assert body["next_cursor"] in link
            else:
                assert body["next_cursor"] is None and "link" not in page.headers
        assert [len(p) for p in pages] == [3, 3, 1]
        assert seen == newest_first

        # The default page holds them all; `after` is another name for `cursor`.
        assert [j["id"] for j in (await c.get("/v1/jobs", headers=mine)).json()["jobs"]] == (
            newest_first
        )
        first = (await c.get("/v1/jobs?limit=2", headers=mine)).json()
        by_after = await c.get(f"/v1/jobs?limit=2&after={first['next_cursor']}", headers=mine)
        assert [j["id"] for j in by_after.json()["jobs"]] == newest_first[2:4]

        # A cursor still holds when the job it stopped at is deleted.
        assert (await c.delete(f"/v1/jobs/{newest_first[1]}", headers=mine)).status_code == 200
        after_delete = await c.get(f"/v1/jobs?cursor={first['next_cursor']}", headers=mine)
        assert [j["id"] for j in after_delete.json()["jobs"]] == newest_first[2:]

        for bad in ("limit=0", "limit=1001", "limit=x", "cursor=nonsense", "after=%00"):
            refused = await c.get(f"/v1/jobs?{bad}", headers=mine)
            assert refused.status_code == 400, bad
            assert refused.json()["error"]["code"] in ("bad_limit", "bad_cursor")

        spec = (await c.get("/openapi.json", headers=mine)).json()
        documented = {p["name"] for p in spec["paths"]["/v1/jobs"]["get"]["parameters"]}
        assert {"limit", "cursor", "after"} <= documented
