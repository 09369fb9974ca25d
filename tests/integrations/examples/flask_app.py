from flask import Flask, request

from engine.integrations.flask import Mailprobe

mailprobe = Mailprobe()  # one extension object; each app's settings come from its config


def create_app(mailprobe_settings: dict[str, object]) -> Flask:
    app = Flask(__name__)
    # e.g. {"HELO_NAME": "mx.example.com", "MAIL_FROM": "verify@example.com", "TIMEOUT": 5}
    app.config["MAILPROBE"] = mailprobe_settings
    mailprobe.init_app(app)

    @app.post("/signup")
    def signup() -> tuple[dict[str, object], int]:
        verdict = mailprobe.check(request.form.get("email", ""))  # waits up to TIMEOUT
        if verdict.rejection is not None:
            return {"error": verdict.rejection.code, "message": verdict.rejection.message}, 422
        result = verdict.result
        return {"email": result.email, "state": result.state.value}, 201

    @app.post("/signup-async")
    async def signup_async() -> tuple[dict[str, object], int]:
        verdict = await mailprobe.acheck(request.form.get("email", ""))  # never blocks the loop
        if verdict.rejection is not None:
            return {"error": verdict.rejection.code, "message": verdict.rejection.message}, 422
        result = verdict.result
        return {"email": result.email, "state": result.state.value}, 201

    return app
