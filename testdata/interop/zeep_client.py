"""Drive IPS Export with Python zeep, the way real integrations do.

usage: zeep_client.py WSDL_URL USER PASSWORD COMPANY_NAME ASSET_NAME
Prints one JSON object with what each call returned.
"""
import json
import sys

import requests
from zeep import Client, Settings
from zeep.exceptions import Fault
from zeep.helpers import serialize_object
from zeep.transports import Transport


def array_items(value):
    """An IPS array as a list: zeep unwraps a wrapper of one repeated
    element into the list itself, or gives a dict with "items"."""
    if value is None:
        return []
    if isinstance(value, list):
        return value
    return value.get("items") or []


def main():
    wsdl, user, password, company, asset = sys.argv[1:6]
    out = {}
    # rwunsch/Scene7-API-Client-Python: HTTP Basic only, no authHeader.
    session = requests.Session()
    session.auth = (user, password)
    client = Client(wsdl, settings=Settings(strict=False, xml_huge_tree=True),
                    transport=Transport(session=session))
    svc = client.service
    out["checkLogin"] = svc.checkLogin(email=user, password=password)
    out["checkLoginBad"] = svc.checkLogin(email=user, password=password + "x")
    info = serialize_object(svc.getCompanyInfo(companyName=company))
    out["companyInfo"] = {k: info.get(k) for k in ("companyHandle", "name", "rootPath")}
    handle = info["companyHandle"]

    # The authHeader path too (PHP/.NET style), with a fresh session without Basic.
    client2 = Client(wsdl, settings=Settings(strict=False))
    header = {"user": user, "password": password, "appName": "zeep-test", "appVersion": "1"}
    assets = client2.service.getAssetsByName(
        companyHandle=handle, nameArray={"items": [asset, "no-such-asset"]},
        _soapheaders={"authHeader": header})
    assets = serialize_object(assets)
    items = array_items(assets)
    out["assets"] = [{"assetHandle": a.get("assetHandle"), "name": a.get("name"), "type": a.get("type")} for a in items]

    fmt_handle = svc.saveImageFormat(companyHandle=handle, name="zeep-preset",
                                     urlModifier="wid=300&fmt=png")
    out["saveImageFormat"] = fmt_handle
    formats = serialize_object(svc.getImageFormats(companyHandle=handle))
    out["formats"] = sorted(f["name"] for f in array_items(formats))

    try:
        svc.getCompanyInfo(companyName="No Such Company")
        out["fault"] = None
    except Fault as f:
        detail = f.detail
        code = None
        if detail is not None:
            for el in detail.iter():
                if el.tag.endswith("}code") or el.tag == "code":
                    code = int(el.text)
        out["fault"] = {"message": f.message, "code": code}
    print(json.dumps(out, default=str))


if __name__ == "__main__":
    main()
