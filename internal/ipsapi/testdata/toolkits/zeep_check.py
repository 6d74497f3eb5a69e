"""Load every WSDL with zeep and send one submitJob with an exportJob.

usage: /usr/bin/python3 zeep_check.py BASE_URL TOOLKIT (WSDL NAMESPACE)...
Prints a JSON array, one object per WSDL.
"""
import json
import sys

from zeep import Client


def items(array):
    """zeep returns an array wrapper (a single repeated items) as a list."""
    return array if isinstance(array, list) else array["items"]


def main():
    base, tk = sys.argv[1], sys.argv[2]
    args = sys.argv[3:]
    out = []
    for name, ns in zip(args[0::2], args[1::2]):
        r = {"wsdl": name}
        try:
            c = Client(f"{base}/scene7/webservice/{name}?tk={tk}")
            binding = c.service._binding
            r["port"] = next(iter(c.wsdl.services["IpsApiService"].ports))
            r["operations"] = sorted(binding._operations)
            r["submitJobParam"] = [n for n, _ in c.get_element(f"{{{ns}}}submitJobParam").type.elements]
            r["exportJob"] = [n for n, _ in c.get_type(f"{{{ns}}}ExportJob").elements]
            r["signature"] = binding._operations["submitJob"].input.signature()
            header = c.get_element(f"{{{ns}}}authHeader")(user="zeep@example.com", password="pw", appName="zeep", appVersion="4")
            res = c.service.submitJob(
                companyHandle="c|1",
                jobName="zeep-job",
                exportJob={
                    "assetHandleArray": {"items": ["a|1", "a|2"]},
                    "fmt": "convert",
                    "is_modifier": "wid=100&fmt=png",
                    "macro": "$thumb$",
                    "emailSetting": "None",
                },
                _soapheaders=[header],
            )
            r["jobHandle"] = res if isinstance(res, str) else getattr(res, "jobHandle", None)
            res = c.service.getActiveJobs(companyHandle="c|1", _soapheaders=[header])
            job = items(getattr(res, "jobArray", res))[0]
            r["activeJobHandle"] = job.jobHandle
            r["activeExportFmt"] = job.exportJob.fmt if "exportJob" in job and job.exportJob is not None else ""
            res = c.service.getJobLogDetails(companyHandle="c|1", originalName="zeep-job", _soapheaders=[header])
            r["detailAssetName"] = items(items(getattr(res, "jobLogArray", res))[0].detailArray)[0].assetName
        except Exception as e:  # reported, the Go test fails on it
            r["error"] = repr(e)
        out.append(r)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
