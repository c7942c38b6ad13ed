"""How notices leave the app, without a database: the mail server's URL, messages handed to a
real local SMTP server, and the three webhook formats posted to a real local HTTP server."""

import json

import pytest

from core.errors import InvalidInput
from core.notify import SendFailed, mail, webhooks
from core.notify.mail import SmtpSettings, smtp_settings
from core.notify.webhooks import Item, payload
from tests.smtp_server import SmtpServer

SECRET = "s3cret-Passw0rd"


@pytest.fixture
def smtp():
    with SmtpServer() as server:
        yield server


# --- the mail server's URL ------------------------------------------------------------------


@pytest.mark.parametrize(("url", "expected"), [
    ("smtp://mail.example.com", SmtpSettings("mail.example.com", 25)),
    ("smtp://mail.example.com:2525", SmtpSettings("mail.example.com", 2525)),
    ("smtp://relay@mail.example.com?starttls=1",
     SmtpSettings("mail.example.com", 587, "relay", None, "starttls")),
    ("smtp://a%40b.com:p%40ss%3Aw%2Fd@mail.example.com:25?starttls=true&timeout=5",
     SmtpSettings("mail.example.com", 25, "a@b.com", "p@ss:w/d", "starttls", 5.0)),
    ("smtps://apikey:xyz@smtp.sendgrid.net", SmtpSettings("smtp.sendgrid.net", 465, "apikey",
                                                          "xyz", "tls")),
    ("  SMTPS://[::1]:2465/  ", SmtpSettings("::1", 2465, security="tls")),
    ("smtp://user:@mail.example.com", SmtpSettings("mail.example.com", 25, "user", "")),
])
def test_an_smtp_url_names_the_server_the_login_and_the_security(url, expected):
    assert smtp_settings(url) == expected


@pytest.mark.parametrize(("url", "says"), [
    ("", "enter the mail server"),
    ("mail.example.com", "start with smtp:// or smtps://"),
    (f"https://u:{SECRET}@mail.example.com", "start with smtp:// or smtps://"),
    (f"{SECRET}:x@mail.example.com", "start with smtp:// or smtps://"),
    (f"smtp:u:{SECRET}@mail.example.com", "start with smtp:// or smtps://"),
    (f"smtp://u:{SECRET}@", "names no host"),
    (f"smtp://u:{SECRET}@mail.example.com:99999", "port"),
    (f"smtp://u:{SECRET}@mail.example.com:0", "port"),
    (f"smtp://u:{SECRET}@mail.example.com:abc", "port"),
    (f"smtp://u:{SECRET}@[::1", "IPv6"),
    (f"smtp://u:{SECRET}@mail.example.com/inbox", "no path"),
    (f"smtp://u:{SECRET}@mail.example.com#x", "no path or #fragment"),
    (f"smtp://u:{SECRET}@mail.example.com?tls=1", "unknown option 'tls'"),
    (f"smtp://u:{SECRET}@mail.example.com?starttls=maybe", "starttls is 1"),
    (f"smtp://u:{SECRET}@mail.example.com?timeout=0", "timeout is a number of seconds"),
    (f"smtp://u:{SECRET}@mail.example.com?timeout=soon", "timeout is a number of seconds"),
    (f"smtps://u:{SECRET}@mail.example.com?starttls=1", "already speaks TLS"),
    (f"smtp://:{SECRET}@mail.example.com", "needs the user name"),
    (f"smtp://u:{SECRET}%0D%0AQUIT@mail.example.com", "control character"),
    (f"smtp://u:{SECRET}@mail.example.com\r\nRCPT", "control character"),
    (f"smtp://u:{SECRET} x@mail.example.com", "space"),
    (f"smtp://u:{SECRET}@mail_exa$mple.com", "is not a host name"),
    ("smtp://" + "a" * 3000, "at most 2,000"),
])
def test_a_bad_smtp_url_is_refused_by_name_without_its_password(url, says):
    with pytest.raises(InvalidInput) as refused:
        smtp_settings(url)
    assert refused.value.field == "smtp_url"
    assert says in refused.value.message
    assert SECRET not in str(refused.value)


def test_the_settings_never_show_the_password():
    settings = smtp_settings(f"smtps://ops:{SECRET}@mail.example.com")
    assert settings.password == SECRET
    assert SECRET not in repr(settings) and SECRET not in str(settings)


def test_the_environment_names_the_server_and_the_sender(monkeypatch):
    monkeypatch.delenv(mail.SMTP_URL_ENV, raising=False)
    monkeypatch.setenv(mail.MAIL_FROM_ENV, "  ")
    assert (mail.smtp_url_from_env(), mail.mail_from_env()) == (None, None)
    monkeypatch.setenv(mail.SMTP_URL_ENV, " smtp://mail.example.com ")
    monkeypatch.setenv(mail.MAIL_FROM_ENV, "Handoff <alerts@example.com>")
    assert mail.smtp_url_from_env() == "smtp://mail.example.com"
    assert mail.mail_from_env() == "Handoff <alerts@example.com>"


@pytest.mark.parametrize("address", ["ops@example.com", "Handoff <handoff@localhost>",
                                     '"Ops, Sales" <ops@example.com>'])
def test_an_address_is_one_address(address):
    assert mail.mail_address("mail_from", f" {address} ") == address


@pytest.mark.parametrize(("address", "says"), [
    ("", "enter an email address"),
    ("nobody", "is not one email address"),
    ("a@", "is not one email address"),
    ("a@example.com, b@example.com", "is not one email address"),
    ("ops@example.com\r\nBcc: all@example.com", "one line"),
    ("x" * 250 + "@example.com", "at most 254"),
])
def test_a_bad_address_is_refused_by_its_field(address, says):
    with pytest.raises(InvalidInput) as refused:
        mail.mail_address("mail_from", address)
    assert (refused.value.field, says in refused.value.message) == ("mail_from", True)


# --- sending mail ---------------------------------------------------------------------------


def test_a_message_has_its_headers_a_text_and_an_html_alternative(smtp):
    mail.send_mail(smtp_settings(smtp.url), "Handoff <alerts@example.com>", "ana@example.com",
                   "Handoff: D-011275 first touch at risk — café", "Call them back.\n",
                   html="<p>Call them back.</p>")
    [received] = smtp.messages
    assert (received.mail_from, received.rcpt_tos) == ("alerts@example.com",
                                                       ("ana@example.com",))
    message = received.message
    assert message["From"] == "Handoff <alerts@example.com>"
    assert message["To"] == "ana@example.com"
    assert message["Subject"] == "Handoff: D-011275 first touch at risk — café"
    assert message["Date"] and message["Message-ID"].endswith("@example.com>")
    assert message["Auto-Submitted"] == "auto-generated"
    assert message.get_body(("plain",)).get_content() == "Call them back.\n"
    assert message.get_body(("html",)).get_content().strip() == "<p>Call them back.</p>"


@pytest.mark.parametrize(("field_name", "sender", "to", "subject"), [
    ("subject", "h@example.com", "ana@example.com", "Hi\r\nBcc: everyone@example.com"),
    ("subject", "h@example.com", "ana@example.com", "Hi\nX-Spam: yes"),
    ("to", "h@example.com", "ana@example.com\r\nBcc: everyone@example.com", "Hi"),
    ("sender", "h@example.com\nReply-To: evil@example.com", "ana@example.com", "Hi"),
])
def test_a_header_with_a_line_break_is_refused_before_connecting(field_name, sender, to,
                                                                 subject):
    nowhere = SmtpSettings("127.0.0.1", 9, timeout_seconds=1)  # nothing listens: would fail
    with pytest.raises(InvalidInput) as refused:
        mail.send_mail(nowhere, sender, to, subject, "text")
    assert refused.value.field == field_name


def test_a_refused_send_says_the_smtp_reply(smtp):
    smtp.fail_next(1, "554 5.7.1 Message rejected as spam")
    with pytest.raises(SendFailed, match=r"^SMTP 554 from 127\.0\.0\.1: 5\.7\.1 Message "
                                         r"rejected as spam$"):
        mail.send_mail(smtp_settings(smtp.url), "h@example.com", "ana@example.com", "Hi", "x")
    assert smtp.messages == []


def test_a_login_is_made_when_the_url_names_a_user_and_never_repeated():
    with SmtpServer(username="ops@example.com", password=SECRET) as server:
        settings = smtp_settings(server.url)
        mail.send_mail(settings, "h@example.com", "ana@example.com", "Hi", "x")
        assert (server.logins, len(server.messages)) == (["ops@example.com"], 1)
        wrong = smtp_settings(server.url.replace(SECRET, "wrong-password"))
        with pytest.raises(SendFailed, match="SMTP 535") as refused:
            mail.send_mail(wrong, "h@example.com", "ana@example.com", "Hi", "x")
        assert "wrong-password" not in str(refused.value)
        anonymous = smtp_settings(f"smtp://127.0.0.1:{server.port}")
        with pytest.raises(SendFailed, match="SMTP 530"):
            mail.send_mail(anonymous, "h@example.com", "ana@example.com", "Hi", "x")


def test_starttls_the_server_does_not_offer_fails_before_anything_is_sent(smtp):
    settings = smtp_settings(f"smtp://u:{SECRET}@127.0.0.1:{smtp.port}?starttls=1")
    with pytest.raises(SendFailed, match="STARTTLS") as refused:
        mail.send_mail(settings, "h@example.com", "ana@example.com", "Hi", "x")
    assert SECRET not in str(refused.value) and smtp.messages == []


def test_a_server_that_is_down_is_a_send_failure():
    with SmtpServer() as server:
        settings = smtp_settings(server.url)
    with pytest.raises(SendFailed, match=r"could not reach 127\.0\.0\.1:\d+"):
        mail.send_mail(settings, "h@example.com", "ana@example.com", "Hi", "x")


# --- webhook payloads ------------------------------------------------------------------------

HOSTILE = Item("D-7 <!channel> & <https://evil.example|click> [here](https://evil.example)",
               "https://handoff.example.com/lead?lead=7&tab=clocks|x>y")


def test_slack_gets_text_and_mrkdwn_sections_with_its_characters_escaped():
    body = payload("slack", "2 leads breached <first-touch>", [
        HOSTILE, Item("D-8 breached")])
    assert body["text"] == "2 leads breached &lt;first-touch&gt;"
    title, hostile, plain = body["blocks"]
    assert title == {"type": "section",
                     "text": {"type": "mrkdwn", "text": "*2 leads breached &lt;first-touch&gt;*"}}
    assert hostile["text"]["text"] == (
        "<https://handoff.example.com/lead?lead=7&amp;tab=clocks%7Cx%3Ey|D-7 &lt;!channel&gt; "
        "&amp; &lt;https://evil.example|click&gt; [here](https://evil.example)>")
    assert plain == {"type": "section", "text": {"type": "mrkdwn", "text": "D-8 breached"}}


def test_teams_gets_a_message_with_one_adaptive_card():
    body = payload("teams", "2 leads breached", [HOSTILE, Item("D-8 breached")])
    assert body["type"] == "message"
    [attachment] = body["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert (card["type"], card["version"], card["$schema"]) == (
        "AdaptiveCard", "1.4", "http://adaptivecards.io/schemas/adaptive-card.json")
    title, hostile, plain = card["body"]
    assert title == {"type": "TextBlock", "text": "2 leads breached", "wrap": True,
                     "weight": "Bolder", "size": "Medium"}
    assert hostile["text"] == (
        r"[D-7 <!channel> & <https://evil.example|click> \[here\](https://evil.example)]"
        "(https://handoff.example.com/lead?lead=7&tab=clocks%7Cx%3Ey)")
    assert plain == {"type": "TextBlock", "text": "D-8 breached", "wrap": True}


def test_generic_json_names_the_title_the_notice_kind_and_the_items():
    body = payload("json", "2 leads breached", [HOSTILE, Item("D-8 breached")],
                   notice="breached")
    assert body == {"title": "2 leads breached", "kind": "breached", "more": 0, "items": [
        {"text": HOSTILE.text, "link": HOSTILE.link}, {"text": "D-8 breached", "link": None}]}
    assert json.loads(json.dumps(body)) == body


def test_a_long_list_is_cut_and_counted_and_text_is_one_line():
    items = [Item(f"D-{n}\nbreached", f"https://h.example.com/lead?lead={n}")
             for n in range(100)]
    slack = payload("slack", "x" * 500, items)
    assert len(slack["blocks"]) == 1 + webhooks.ITEMS_SHOWN_MAX + 1
    assert slack["blocks"][-1]["elements"][0]["text"] == "and 60 more"
    assert len(slack["text"]) == webhooks.TITLE_MAX_CHARS
    assert payload("json", "t", items)["more"] == 60
    assert payload("json", "t", items)["items"][0]["text"] == "D-0 breached"
    assert payload("teams", "t", items)["attachments"][0]["content"]["body"][-1]["text"] == (
        "and 60 more")


def test_an_item_links_only_to_an_absolute_web_address():
    for link in ("/lead?lead=7", "javascript:alert(1)", "https://", "https://a b.example"):
        with pytest.raises(ValueError, match="link"):
            Item("x", link)
    with pytest.raises(ValueError, match="kind"):
        payload("discord", "t", [])


# --- webhook URLs and posts ------------------------------------------------------------------

HOOK = "/services/T000/B000/XXXXsecretXXXX"


@pytest.mark.parametrize(("url", "says"), [
    ("", "enter the webhook's URL"),
    ("hooks.slack.com/services/x", "starts with https://"),
    ("ftp://hooks.example.com/x", "starts with https://"),
    ("https:///services/x", "names a host"),
    ("https://hooks.example.com:99999/x", "port"),
    ("https://hooks.example.com/a b", "space"),
    ("https://hooks.example.com/\r\nx", "control character"),
])
def test_a_webhook_url_is_an_absolute_http_url(url, says):
    with pytest.raises(InvalidInput) as refused:
        webhooks.webhook_url(url)
    assert refused.value.field == "url" and says in refused.value.message


def test_a_webhook_url_is_kept_as_given_and_shown_as_its_host():
    url = " https://hooks.slack.com/services/T0/B0/abc "
    assert webhooks.webhook_url(url) == url.strip()
    assert webhooks.url_host(url.strip()) == "hooks.slack.com"


def test_a_post_is_json_and_a_2xx_is_success(httpserver):
    httpserver.expect_oneshot_request(HOOK, method="POST").respond_with_data("ok", status=200)
    body = payload("slack", "t", [Item("D-1")])
    webhooks.post(httpserver.url_for(HOOK), body)
    [(request, _)] = httpserver.log
    assert request.headers["Content-Type"] == "application/json"
    assert request.get_json() == body


def test_any_other_answer_is_a_failure_with_the_start_of_its_body(httpserver):
    httpserver.expect_oneshot_request(HOOK).respond_with_data("no_service " * 100, status=500)
    with pytest.raises(SendFailed) as failed:
        webhooks.post(httpserver.url_for(HOOK), {"text": "t"})
    message = str(failed.value)
    assert message.startswith("HTTP 500: no_service no_service")
    assert len(message) == len("HTTP 500: ") + webhooks.ERROR_BODY_MAX_CHARS


def test_a_redirect_is_not_followed(httpserver):
    httpserver.expect_request("/elsewhere").respond_with_data("ok")
    httpserver.expect_oneshot_request(HOOK).respond_with_data(
        "", status=302, headers={"Location": httpserver.url_for("/elsewhere")})
    with pytest.raises(SendFailed, match="^HTTP 302: $"):
        webhooks.post(httpserver.url_for(HOOK), {"text": "t"})
    assert [request.path for request, _ in httpserver.log] == [HOOK]


def test_a_huge_answer_is_read_only_in_part(httpserver):
    httpserver.expect_oneshot_request(HOOK).respond_with_data(b"x" * 5_000_000, status=503)
    with pytest.raises(SendFailed, match="^HTTP 503: x{200}$"):
        webhooks.post(httpserver.url_for(HOOK), {"text": "t"})


def test_an_unreachable_webhook_fails_without_its_secret_path(httpserver):
    url = httpserver.url_for(HOOK)
    httpserver.stop()
    try:
        with pytest.raises(SendFailed, match=r"^could not reach (localhost|127\.0\.0\.1)") as err:
            webhooks.post(url, {"text": "t"}, timeout_seconds=2)
    finally:
        httpserver.start()
    assert "secret" not in str(err.value)
