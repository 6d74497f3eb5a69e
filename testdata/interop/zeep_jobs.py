"""Control and reconcile IPS Export jobs with Python zeep, through the served WSDL.

usage: zeep_jobs.py CONFIG_JSON

CONFIG_JSON holds: wsdl, user, password, company (name), handles (asset
handles to export; the first is looked up with getAssetJobLogs), prefix (of
job names), assetJobLogs (false for a WSDL without getAssetJobLogs).

What a scheduler or audit script does: submits a job for later and a
recurring one, pauses both and reads getScheduledJobs (triggerState,
timeZone), resumes the recurring one, runs the waiting one now with
executeJob and follows its log to its end, reads what became of the asset
(getAssetJobLogs) and where the originals live (getOriginalFilePaths),
deletes both, and reads the fault of an executeJob that does not apply.
It prints one JSON object.
"""
import datetime
import json
import sys
import time

import requests
from zeep import Client, Settings
from zeep.exceptions import Fault
from zeep.helpers import serialize_object
from zeep.transports import Transport

from zeep_export import array_items, scalar  # this folder is on the path


def fault_code(f):
    if f.detail is not None:
        for el in f.detail.iter():
            if el.tag.endswith("}code") or el.tag == "code":
                return int(el.text)
    return None


def scheduled(svc, company):
    out = {}
    for j in array_items(serialize_object(svc.getScheduledJobs(companyHandle=company))):
        out[j["originalName"]] = {"triggerState": j.get("triggerState"), "timeZone": j.get("timeZone"),
                                  "jobHandle": j.get("jobHandle")}
    return out


def main():
    cfg = json.loads(sys.argv[1])
    session = requests.Session()
    session.auth = (cfg["user"], cfg["password"])
    client = Client(cfg["wsdl"], settings=Settings(strict=False, xml_huge_tree=True),
                    transport=Transport(session=session))
    svc = client.service
    out = {}
    company = serialize_object(svc.getCompanyInfo(companyName=cfg["company"]))["companyHandle"]
    export = {"assetHandleArray": {"items": cfg["handles"]}, "fmt": "orig", "emailSetting": "None"}
    later = cfg["prefix"] + "-later"
    nightly = cfg["prefix"] + "-nightly"
    waiting = scalar(svc.submitJob(companyHandle=company, jobName=later,
                                   execTime=datetime.datetime(2099, 1, 1, tzinfo=datetime.timezone.utc),
                                   exportJob=export), "jobHandle")
    recurring = scalar(svc.submitJob(companyHandle=company, jobName=nightly, execSchedule="00 00 00 * *",
                                     exportJob=export), "jobHandle")
    out["pauseJob"] = svc.pauseJob(companyHandle=company, jobHandle=waiting)
    svc.pauseJob(companyHandle=company, jobHandle=recurring)
    paused = scheduled(svc, company)
    out["paused"] = {"later": paused.get(later), "nightly": paused.get(nightly)}
    svc.resumeJob(companyHandle=company, jobHandle=recurring)
    out["resumedNightly"] = scheduled(svc, company).get(nightly)

    out["executeJob"] = svc.executeJob(companyHandle=company, jobHandle=waiting)
    deadline = time.time() + 60
    log = None
    while time.time() < deadline:
        logs = array_items(serialize_object(svc.getJobLogDetails(companyHandle=company, jobHandle=waiting)))
        log = logs[0] if logs else None
        if log and log.get("endDate"):
            break
        time.sleep(0.2)
    out["log"] = {"logType": log.get("logType"), "startDate": str(log.get("startDate")),
                  "endDate": str(log.get("endDate")), "fileSuccessCount": log.get("fileSuccessCount"),
                  "fileUpdateCount": log.get("fileUpdateCount"),
                  "detailTypes": [d.get("logType") for d in array_items(log.get("detailArray"))]}

    if cfg["assetJobLogs"]:
        entries = array_items(serialize_object(svc.getAssetJobLogs(companyHandle=company, assetHandle=cfg["handles"][0])))
        out["assetJobLogs"] = [{"jobHandle": e.get("jobHandle"), "logType": e.get("logType"),
                                "logDate": str(e.get("logDate")), "logMessage": e.get("logMessage")} for e in entries]
    paths = serialize_object(svc.getOriginalFilePaths(companyHandle=company, assetHandleArray={"items": cfg["handles"]}))
    out["originalFilePaths"] = array_items(paths.get("originalFileArray") if isinstance(paths, dict) else paths)

    try:
        svc.executeJob(companyHandle=company, jobHandle=waiting)
        out["executeFault"] = None
    except Fault as f:
        out["executeFault"] = {"message": f.message, "code": fault_code(f)}
    svc.deleteJob(companyHandle=company, jobHandle=recurring)
    svc.deleteJob(companyHandle=company, jobHandle=waiting)
    left = scheduled(svc, company)
    out["leftScheduled"] = sorted(k for k in left if k.startswith(cfg["prefix"]))
    out["waitingHandle"] = waiting
    print(json.dumps(out, default=str))


if __name__ == "__main__":
    main()
