#!/usr/bin/env python3
"""Counts test cases from a Bazel build event file and the JUnit XML each
test target wrote, and prints `N passed, N failed`.

A target that failed to build, timed out or crashed before writing a failing
<testcase> counts as one failed case, so nothing broken is ever hidden.
Usage: count_tests.py [--extra NAME=passed|failed ...] BEP_JSON [BEP_JSON...]
(exits 1 if anything failed). Each --extra counts one case run outside Bazel's
test runner (e.g. the fuzz smoke run).
"""
import json
import sys
import urllib.parse
import xml.etree.ElementTree as ET


def xml_counts(path):
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError):
        return None
    passed = failed = 0
    for case in root.iter("testcase"):
        if case.find("failure") is not None or case.find("error") is not None:
            failed += 1
        elif case.get("status", "run") == "notrun" or case.find("skipped") is not None:
            continue  # gtest's DISABLED_ tests; none are allowed to hide failures
        else:
            passed += 1
    return passed, failed


def count(bep_path, failures):
    passed = failed = 0
    results = {}
    summaries = {}
    aborted = []
    build_ok = True
    with open(bep_path) as f:
        for line in f:
            event = json.loads(line)
            eid = event.get("id", {})
            if "testResult" in eid:
                label = eid["testResult"]["label"]
                res = event.get("testResult", {})
                xml = None
                for out in res.get("testActionOutput", []):
                    if out.get("name") == "test.xml":
                        xml = urllib.parse.urlparse(out["uri"]).path
                results.setdefault(label, []).append((res.get("status"), xml))
            elif "buildFinished" in eid:
                code = event.get("finished", {}).get("exitCode", {})
                build_ok = code.get("name", "SUCCESS") in ("SUCCESS",)
            elif "testSummary" in eid:
                label = eid["testSummary"]["label"]
                summaries[label] = event.get("testSummary", {}).get("overallStatus")
            elif "targetCompleted" in eid and event.get("aborted"):
                aborted.append(eid["targetCompleted"]["label"])
            elif "targetCompleted" in eid:
                done = event.get("completed", {})
                if not done.get("success", False):
                    label = eid["targetCompleted"]["label"]
                    if label not in results:
                        aborted.append(label)
    for label, runs in sorted(results.items()):
        for status, xml in runs:
            counts = xml_counts(xml) if xml else None
            p, fl = counts if counts else (0, 0)
            if status != "PASSED" and fl == 0:
                fl = 1  # crashed, timed out or wrote no XML
            passed += p
            failed += fl
            if fl:
                failures.append(f"{label}: {status}")
    for label in sorted(set(aborted)):
        if label not in results:
            failed += 1
            failures.append(f"{label}: did not build or run")
    if not build_ok and failed == 0:
        failed += 1  # the build failed before any target could be blamed
        failures.append(f"{bep_path}: the build failed")
    return passed, failed


def main():
    total_passed = total_failed = 0
    failures = []
    args = sys.argv[1:]
    paths = []
    while args:
        arg = args.pop(0)
        if arg == "--extra" or arg.startswith("--extra="):
            extra = arg.split("=", 1)[1] if "=" in arg else (args.pop(0) if args else "")
            name, _, result = extra.partition("=")
            if result == "passed":
                total_passed += 1
            else:  # "failed", or anything malformed: never hide a failure
                total_failed += 1
                failures.append(f"{name or extra}: {result or 'no result'}")
        else:
            paths.append(arg)
    for path in paths:
        p, f = count(path, failures)
        total_passed += p
        total_failed += f
    for line in failures:
        print("FAILED:", line)
    print(f"{total_passed} passed, {total_failed} failed")
    return 1 if total_failed else 0


if __name__ == "__main__":
    sys.exit(main())
