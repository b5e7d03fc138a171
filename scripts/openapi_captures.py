"""Checks recorded answers of a fake against the response schemas of its OpenAPI document.

Usage: python openapi_captures.py openapi/toss.json CAPTURES.json

CAPTURES.json is a list of `{method, path, status, body}`, as the fakes' `sdk_captures`
test and the harness's `openapi` test write them (the payments API's bodies decrypted). Each answer is matched to the documented operation (the
path template with the fewest parameters that matches) and its body validated against
the documented schema of its status. Exits non-zero, listing every mismatch, if a body
does not match or an answer has no documented operation or response.
"""

import json
import re
import sys

from openapi_schema_validator import OAS31Validator


def main(doc_path: str, captures_path: str) -> int:
    with open(doc_path, encoding="utf-8") as f:
        doc = json.load(f)
    with open(captures_path, encoding="utf-8") as f:
        captures = json.load(f)
    templates = [
        (re.compile("^" + re.sub(r"\{[^}/]+\}", "[^/]+", path) + "$"), path)
        for path in doc["paths"]
    ]
    failures = []
    checked = 0
    for capture in captures:
        method = capture["method"].lower()
        path = capture["path"].split("?", 1)[0]
        status = str(capture["status"])
        what = f"{capture['method']} {capture['path']} ({status})"
        matching = [
            template
            for pattern, template in templates
            if pattern.match(path) and method in doc["paths"][template]
        ]
        if not matching:
            failures.append(f"{what}: no documented operation")
            continue
        template = min(matching, key=lambda t: t.count("{"))
        responses = doc["paths"][template][method]["responses"]
        response = responses.get(status) or responses.get(status[0] + "XX")
        if response is None:
            failures.append(f"{what}: status not documented for {template}")
            continue
        # The payments API's encrypted answers are documented as `text/plain` with the
        # schema of the decrypted JSON, which is what its captures hold.
        media = response.get("content", {})
        content = media.get("application/json") or media.get("text/plain")
        if content is None:
            if capture["body"] not in (None, "", {}):
                failures.append(f"{what}: a body where {template} documents none")
            continue
        # The schema's references point into the document: give it the components.
        schema = dict(content["schema"])
        schema["components"] = doc.get("components", {})
        errors = sorted(
            OAS31Validator(schema).iter_errors(capture["body"]),
            key=lambda e: list(e.absolute_path),
        )
        for error in errors[:3]:
            at = "/".join(str(p) for p in error.absolute_path)
            # The message quotes the whole body first: keep its start and its verdict.
            message = error.message
            if len(message) > 400:
                message = f"{message[:120]} … {message[-280:]}"
            failures.append(f"{what} [{template}] at /{at}: {message}")
        checked += 1
    for failure in failures:
        print(failure, file=sys.stderr)
    print(f"{doc_path}: {checked} answers checked, {len(failures)} mismatches")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
