"""Follow IPS Export jobs end to end with Python zeep, through the served WSDL.

usage: zeep_export.py CONFIG_JSON

CONFIG_JSON (one argument) holds: wsdl, user, password, company (name),
origHandles (asset handles for the orig export), convertNames (asset names
for the convert export, looked up with getAssetsByName), macro {name,
urlModifier}, isModifier, jobPrefix, outDir.

The script does what a zeep integration does (rwunsch/Scene7-API-Client-
Python: HTTP Basic, no authHeader): saveImageFormat, submitJob orig and
convert, polls getActiveJobs and getJobLogDetails(originalName) every 500 ms
until a detail's assetName is an http link, GETs that link with no
credentials, reads the zip, and reads the counts back with getJobLogs.
It prints one JSON object.
"""
import hashlib
import io
import json
import os
import sys
import time
import urllib.request
import zipfile

import requests
from zeep import Client, Settings
from zeep.helpers import serialize_object
from zeep.transports import Transport


def array_items(value):
    """An IPS array as a list: zeep unwraps a wrapper of one repeated
    element into the list itself, or gives a dict with "items"."""
    if value is None:
        return []
    if isinstance(value, list):
        return value
    if isinstance(value, dict):
        items = value.get("items")
        if items is None:
            return []
        return items if isinstance(items, list) else [items]
    return [value]


def scalar(value, key):
    """A return with one child: zeep may hand back the child itself."""
    if isinstance(value, (str, int)) or value is None:
        return value
    value = serialize_object(value)
    if isinstance(value, dict):
        return value.get(key)
    return value


def sniff(head):
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"II*\x00") or head.startswith(b"MM\x00*"):
        return "tiff"
    if head.startswith(b"GIF8"):
        return "gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    return "unknown"


def follow(svc, company_handle, job_name, job_handle, out_dir):
    res = {"jobName": job_name, "jobHandle": job_handle, "activeStates": [], "polls": 0}
    deadline = time.time() + 120
    zip_url = None
    while time.time() < deadline and zip_url is None:
        res["polls"] += 1
        active = serialize_object(svc.getActiveJobs(companyHandle=company_handle, originalName=job_name))
        for aj in array_items(active):
            if aj.get("state") and aj["state"] not in res["activeStates"]:
                res["activeStates"].append(aj["state"])
        logs = serialize_object(svc.getJobLogDetails(companyHandle=company_handle, originalName=job_name))
        for log in array_items(logs):
            for d in array_items(log.get("detailArray")):
                name = d.get("assetName") or ""
                if name.startswith("http"):
                    zip_url = name
                    res["detailTypes"] = [x.get("logType") for x in array_items(log.get("detailArray"))]
                    break
        if zip_url is None:
            time.sleep(0.5)
    if zip_url is None:
        raise SystemExit("job %s did not end within 120 s" % job_name)
    res["zipURL"] = zip_url

    # The AEM-style download: a plain GET with no credentials at all.
    with urllib.request.urlopen(zip_url) as resp:
        res["downloadStatus"] = resp.status
        data = resp.read()
    path = os.path.join(out_dir, job_name + ".zip")
    with open(path, "wb") as f:
        f.write(data)
    res["zipPath"] = path
    entries = []
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        for info in zf.infolist():
            body = zf.read(info)
            entries.append({"name": info.filename, "size": len(body),
                            "sha256": hashlib.sha256(body).hexdigest(),
                            "head": body[:16].hex(), "format": sniff(body[:16])})
    res["entries"] = entries

    for log in array_items(serialize_object(svc.getJobLogs(companyHandle=company_handle))):
        if log.get("jobHandle") == job_handle:
            res["log"] = {k: log.get(k) for k in (
                "jobHandle", "logType", "totalFileCount", "fileSuccessCount",
                "fileErrorCount", "fileWarningCount")}
    return res


def main():
    cfg = json.loads(sys.argv[1])
    session = requests.Session()
    session.auth = (cfg["user"], cfg["password"])
    client = Client(cfg["wsdl"], settings=Settings(strict=False, xml_huge_tree=True),
                    transport=Transport(session=session))
    svc = client.service
    out = {}
    info = serialize_object(svc.getCompanyInfo(companyName=cfg["company"]))
    handle = info["companyHandle"]
    out["companyHandle"] = handle

    out["macroHandle"] = scalar(svc.saveImageFormat(
        companyHandle=handle, name=cfg["macro"]["name"], urlModifier=cfg["macro"]["urlModifier"]),
        "imageFormatHandle")
    found = serialize_object(svc.getAssetsByName(companyHandle=handle, nameArray={"items": cfg["convertNames"]}))
    out["convertHandles"] = [a["assetHandle"] for a in array_items(found)]

    prefix = cfg["jobPrefix"]
    orig_handle = scalar(svc.submitJob(
        companyHandle=handle, jobName=prefix + "-orig",
        exportJob={"assetHandleArray": {"items": cfg["origHandles"]}, "fmt": "orig", "emailSetting": "None"}),
        "jobHandle")
    conv_handle = scalar(svc.submitJob(
        companyHandle=handle, jobName=prefix + "-convert",
        exportJob={"assetHandleArray": {"items": out["convertHandles"]}, "fmt": "convert",
                   "is_modifier": cfg["isModifier"], "macro": "$" + cfg["macro"]["name"] + "$",
                   "emailSetting": "None"}),
        "jobHandle")
    out["orig"] = follow(svc, handle, prefix + "-orig", orig_handle, cfg["outDir"])
    out["convert"] = follow(svc, handle, prefix + "-convert", conv_handle, cfg["outDir"])
    print(json.dumps(out, default=str))


if __name__ == "__main__":
    main()
