"""The nightly report: summary.json, junit.xml and index.html in one directory."""
import html
import json
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr


def write(report_dir: Path, results: list[dict], meta: dict) -> None:
    summary = {"meta": meta, "results": results,
               "passed": sum(r["ok"] for r in results),
               "failed": sum(not r["ok"] for r in results)}
    (report_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")

    cases = []
    for r in results:
        body = "" if r["ok"] else f"<failure message={quoteattr(r['why'])}/>"
        cases.append(f'  <testcase classname="tracenic" name={quoteattr(r["name"])} '
                     f'time="{r["seconds"]:.2f}">{body}</testcase>')
    (report_dir / "junit.xml").write_text(
        f'<?xml version="1.0" encoding="UTF-8"?>\n<testsuite name="tracenic-nightly" '
        f'tests="{len(results)}" failures="{summary["failed"]}">\n' + "\n".join(cases) +
        "\n</testsuite>\n")

    rows = []
    for r in results:
        links = " ".join(f'<a href="{escape(r["name"])}/{f}">{f}</a>'
                         for f in ("console.log", "results.txt", "trace.bin", "dmacheck.txt",
                                   "dmacheck.json", "timeline.json")
                         if (report_dir / r["name"] / f).exists())
        rows.append(f'<tr class="{"ok" if r["ok"] else "bad"}"><td>{html.escape(r["name"])}</td>'
                    f'<td>{html.escape(", ".join(r["expected"]) or "clean")}</td>'
                    f'<td>{html.escape(", ".join(r["got"]) or "clean")}</td>'
                    f'<td>{"PASS" if r["ok"] else "FAIL: " + html.escape(r["why"])}</td>'
                    f'<td>{r["seconds"]:.1f}</td><td>{links}</td></tr>')
    (report_dir / "index.html").write_text(
        "<!doctype html><meta charset=utf-8><title>tracenic nightly</title>"
        "<style>body{font-family:sans-serif}td,th{padding:4px 8px;border-bottom:1px solid #ddd}"
        ".bad{background:#fdd}.ok{background:#efe}</style>"
        f"<h1>tracenic nightly: {summary['passed']} passed, {summary['failed']} failed</h1>"
        f"<p>{html.escape(json.dumps(meta))}</p><table><tr><th>scenario</th><th>expected</th>"
        "<th>dmacheck said</th><th>verdict</th><th>s</th><th>artifacts</th></tr>"
        + "".join(rows) + "</table>\n")
