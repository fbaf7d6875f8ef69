#!/usr/bin/python3
"""Checks a delivery status notification with Python's own email parser.

Usage: check_ndr.py REPORT.eml EXPECT.json
EXPECT keys (all optional except hostname):
  hostname, sender, subject_contains [..], in_reply_to, languages [..] (the
  first words of each language, in order), text_contains [..],
  text_excludes [..], message_fields {name: value}, absent_message_fields [..],
  recipients [{field: value, ...}] (one per group, in order; a value None
  means the field must be absent), return_type, return_cte,
  returned_subject, returned_body_contains.
Prints every problem and exits 1, or prints OK and exits 0.
"""
import email
import email.policy
import json
import sys

problems = []


def expect(cond, what):
    if not cond:
        problems.append(what)


def main():
    raw = open(sys.argv[1], "rb").read()
    spec = json.load(open(sys.argv[2], encoding="utf-8"))

    # RFC 5322 §2.1.1 / RFC 5321 §2.3.8: CRLF only, lines of at most 998 octets.
    expect(b"\n" not in raw.replace(b"\r\n", b""), "bare LF in the message")
    expect(b"\r" not in raw.replace(b"\r\n", b""), "bare CR in the message")
    longest = max(len(l) for l in raw.split(b"\r\n"))
    expect(longest <= 998, f"a line of {longest} octets")

    msg = email.message_from_bytes(raw, policy=email.policy.default)
    host = spec["hostname"]
    expect(msg.get_content_type() == "multipart/report", "not multipart/report")
    expect(msg.get_param("report-type") == "delivery-status", "report-type is not delivery-status")
    frm = msg["From"]
    expect(frm is not None and frm.addresses[0].addr_spec == f"MAILER-DAEMON@{host}",
           f"From is {frm}")
    expect(frm is not None and frm.addresses[0].display_name == "Mail Delivery System",
           "From has no display name Mail Delivery System")
    if "sender" in spec:
        expect(msg["To"] is not None and spec["sender"] in str(msg["To"]), f"To is {msg['To']}")
    expect(str(msg["Auto-Submitted"]) == "auto-replied", "Auto-Submitted is not auto-replied")
    expect(str(msg["MIME-Version"]) == "1.0", "no MIME-Version 1.0")
    expect(msg["Date"] is not None and msg["Date"].datetime is not None, "no valid Date")
    mid = str(msg["Message-ID"] or "")
    expect(mid.startswith("<") and mid.endswith(f"@{host}>"), f"Message-ID is {mid}")
    subject = str(msg["Subject"] or "")
    for words in spec.get("subject_contains", []):
        expect(words in subject, f"Subject {subject!r} lacks {words!r}")
    if "in_reply_to" in spec:
        expect(str(msg["In-Reply-To"] or "") == spec["in_reply_to"], f"In-Reply-To is {msg['In-Reply-To']}")
        expect(str(msg["References"] or "") == spec["in_reply_to"], f"References is {msg['References']}")

    parts = msg.get_payload()
    expect(len(parts) == 3, f"{len(parts)} parts, not 3")
    if len(parts) != 3:
        return
    text_part, status_part, returned = parts

    # RFC 6522 §3: first the human-readable part.
    expect(text_part.get_content_type() == "text/plain", "first part is not text/plain")
    expect(text_part.get_content_charset() == "utf-8", "text part charset is not utf-8")
    expect(text_part["Content-Transfer-Encoding"] == "quoted-printable", "text part is not QP")
    text = text_part.get_content()
    flat = " ".join(text.split())  # wrapped lines read as one
    for words in spec.get("text_contains", []):
        expect(words in flat, f"text lacks {words!r}")
    for words in spec.get("text_excludes", []):
        expect(words not in flat, f"text has {words!r}")
    positions = [flat.find(w) for w in spec.get("languages", [])]
    expect(all(p >= 0 for p in positions), f"a language is missing: {positions}")
    expect(positions == sorted(positions), f"languages out of order: {positions}")
    for line in text.splitlines():
        expect(len(line) <= 78 or line.startswith(" "), f"text line longer than 78: {line!r}")

    # RFC 3464 §2.1: per-message fields, then one group per recipient.
    expect(status_part.get_content_type() == "message/delivery-status",
           "second part is not message/delivery-status")
    groups = status_part.get_payload()
    expect(len(groups) >= 1, "no per-message fields")
    per_msg = groups[0]
    expect(str(per_msg["Reporting-MTA"]) == f"dns; {host}", f"Reporting-MTA is {per_msg['Reporting-MTA']}")
    for name, value in spec.get("message_fields", {}).items():
        expect(str(per_msg[name]) == value, f"{name} is {per_msg[name]!r}, not {value!r}")
    for name in spec.get("absent_message_fields", []):
        expect(per_msg[name] is None, f"{name} is present")
    rcpts = groups[1:]
    want = spec.get("recipients", [])
    expect("recipients" not in spec or len(rcpts) == len(want), f"{len(rcpts)} recipient groups, not {len(want)}")
    for group, fields in zip(rcpts, want):
        for f in ("Final-Recipient", "Action", "Status"):
            expect(group[f] is not None, f"recipient group lacks {f}")
        for name, value in fields.items():
            got = group[name]
            if value is None:
                expect(got is None, f"{name} present: {got!r}")
            elif value.endswith("*"):
                expect(got is not None and str(got).startswith(value[:-1]), f"{name} is {got!r}, not {value!r}")
            else:
                expect(got is not None and " ".join(str(got).split()) == value, f"{name} is {got!r}, not {value!r}")

    # The original: headers only, or the whole message.
    rtype = spec.get("return_type", "text/rfc822-headers")
    expect(returned.get_content_type() == rtype, f"third part is {returned.get_content_type()}, not {rtype}")
    if "return_cte" in spec:
        expect(returned["Content-Transfer-Encoding"] == spec["return_cte"],
               f"third part CTE is {returned['Content-Transfer-Encoding']}")
    if rtype == "message/rfc822":
        inner = returned.get_payload()[0]
        if "returned_subject" in spec:
            expect(str(inner["Subject"]) == spec["returned_subject"], f"returned Subject is {inner['Subject']}")
        if "returned_body_contains" in spec:
            body = inner.get_payload(decode=True) or b""
            expect(spec["returned_body_contains"].encode() in body, "returned body lacks the text")
    else:
        payload = returned.get_payload(decode=True) or b""
        headers = email.message_from_bytes(payload, policy=email.policy.default)
        if "returned_subject" in spec:
            expect(str(headers["Subject"]) == spec["returned_subject"], f"returned Subject is {headers['Subject']}")
        expect(b"\r\n\r\n" not in payload.rstrip(b"\r\n"), "headers part holds a body")


if __name__ == "__main__":
    main()
    for p in problems:
        print("PROBLEM:", p)
    print("OK" if not problems else f"{len(problems)} problem(s)")
    sys.exit(1 if problems else 0)
