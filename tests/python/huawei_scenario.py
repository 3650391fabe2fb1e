#!/usr/bin/env python3
"""End-to-end scenario: drive imagehub with the real, unmodified Huawei Cloud Python
SDK (ModelArts v1 and IMS v2 through AK/SK `SDK-HMAC-SHA256` signatures) and with the
SCNet access-key token flow (plain `requests`).

Exit status 0 on success; non-zero with a "FAIL: ..." line on the first failed
expectation (for an unexpected SDK error it also prints the canonical request the
SDK signed). `--print-vectors` prints deterministic signature test vectors made by
the SDK's own Signer instead (no server needed). Inputs (environment):

  IMAGEHUB_URL            http://127.0.0.1:PORT (no trailing slash)
  IMAGEHUB_AK_A           access key id of a `member` key pair of project A
  IMAGEHUB_SK_A           its secret key
  IMAGEHUB_PROJECT_A      project A's id (32 lowercase hex)
  IMAGEHUB_AK_B           the same for project B
  IMAGEHUB_SK_B
  IMAGEHUB_PROJECT_B

Run it with the venv built by scripts/python-env (pins in requirements.txt:
huaweicloudsdkcore, huaweicloudsdkmodelarts, huaweicloudsdkims 3.1.219, requests).

How the SDK is pointed at the server (no IAM anywhere):
  XxxClient.new_builder().with_credentials(BasicCredentials(ak, sk, project_id))
      .with_endpoint(URL).build()
  With a project id and without with_region() the SDK never calls IAM (no project
  lookup) and, since AK and SK are set, never the ECS metadata service (an empty
  AK/SK would make it fetch temporary keys from 169.254.169.254!). Only the
  endpoint's scheme and host:port are used; any path in it is dropped. The only
  side effect outside the request: the first build() writes a random application
  id to ~/.huaweicloud/application_id (it goes into the User-Agent).

THE SIGNATURE, as huaweicloudsdkcore 3.1.219 (signer/signer.py) computes it; the
function `spec_signature` below re-computes it from what goes on the wire and the
scenario fails if the SDK ever disagrees (so the server can verify exactly this):
  * Signed headers: EVERY header the SDK itself sets whose name has no "_":
    content-type, host, user-agent, x-project-id, x-sdk-date, plus
    x-sdk-content-sha256 when present (x-security-token with temporary keys).
    Names lower-cased and sorted; values only .strip()ped (inner spaces kept).
    Accept, Accept-Encoding, Connection, Content-Length are added later by
    `requests` and are NOT signed.
  * Host = the endpoint's netloc as written (`127.0.0.1:PORT`), also sent as Host.
  * X-Sdk-Date = UTC `%Y%m%dT%H%M%SZ` (e.g. 20261122T084308Z).
  * Canonical URI: the path (query excluded) percent-decoded, split on "/", each
    segment encoded with RFC 3986 unreserved chars kept (A-Za-z0-9-._~), joined,
    and "/" appended unless it already ends with one.
  * Canonical query: the (key, value) pairs sorted by their DECODED key then value
    (code-point order), each encoded like a path segment (space = %20, "," = %2C),
    `k=v` joined by "&"; booleans are `true`/`false`. The SDK sends exactly this
    string as the URL query.
  * Payload hash: empty body -> sha256("") ALWAYS (even if X-Sdk-Content-Sha256 is
    set); else the X-Sdk-Content-Sha256 value when set; else hex sha256 of the raw
    body bytes. The SDK sets `X-Sdk-Content-Sha256: UNSIGNED-PAYLOAD` whenever the
    Content-Type does not start with application/json or application/bson, e.g.
    the IMS PATCH (`application/openstack-images-v2.1-json-patch`).
  * Canonical request = METHOD \n URI \n QUERY \n (name:value\n per signed header)
    \n signed;headers \n payload-hash  (so a blank line precedes the header list).
  * String to sign = "SDK-HMAC-SHA256\n" + X-Sdk-Date + "\n" + hex(sha256(CR)).
  * Signature = hex(HMAC-SHA256(key = the SK's UTF-8 bytes as is, string to sign)).
  * Authorization: `SDK-HMAC-SHA256 Access=<AK>, SignedHeaders=<a;b;c>, Signature=<hex>`.

SERVER-SIDE REQUIREMENTS found in the SDK sources (easy to miss):
  1. Every request carries `Content-Type`, also GET and body-less DELETE
     (`application/json`; RegisterImage/DeleteImage/IMS create/delete send
     `application/json;charset=utf-8`, lower-case). A body-less DELETE has
     `Content-Length: 0`. `Accept: */*` everywhere (the SDK sets none).
  2. X-Project-Id is sent on every request, IMS /v2 calls included; on /v1 the
     path's {project_id} is BasicCredentials' project id too.
  3. Errors: the SDK reads `error_code`/`error_msg` (also errorCode/errorMsg, or
     code/message, or the same one level down, e.g. IMS {"error":{...}}) from a
     JSON body whatever its Content-Type; otherwise error_code = the HTTP status
     as a string and error_msg = the raw body. The request id comes only from
     `X-Request-Id` (not x-openstack-request-id). Any status >= 400 raises
     ClientRequestException (< 500) or ServerResponseException.
  4. Typed responses are filled from the JSON keys named in each model's
     attribute_map; unknown keys are ignored, missing ones are None. Glance
     `self` maps to the attribute `_self`.
"""

import hashlib
import hmac
import json
import re
import sys
import time
import traceback
import uuid
from urllib.parse import quote, unquote, urlsplit

import requests

from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException, ServiceResponseException
from huaweicloudsdkcore.http.http_config import HttpConfig
from huaweicloudsdkcore.http.http_handler import HttpHandler
from huaweicloudsdkmodelarts.v1 import (
    DeleteImageRequest,
    DeleteImageRequestBody,
    ImageRegRequest,
    ListImageGroupRequest,
    ListImageRequest,
    ModelArtsClient,
    RegisterImageRequest,
    ShowImageRequest,
)
from huaweicloudsdkims.v2 import (
    GlanceCreateImageMetadataRequest,
    GlanceCreateImageMetadataRequestBody,
    GlanceDeleteImageRequest,
    GlanceListImagesRequest,
    GlanceShowImageRequest,
    GlanceUpdateImageRequest,
    GlanceUpdateImageRequestBody,
    ImsClient,
)


# --------------------------------------------------------------------------
# helpers

from scenario_common import ScenarioFailure, check, env, eq, fail  # noqa: E402

LAST = {"step": None, "request": None, "frozen": False}  # for the failure report


def step(msg):
    LAST["step"] = msg
    print("[huawei-scenario] %s" % msg, flush=True)


def expect_sdk_error(fn, what, status=None, error_code=None):
    """fn() must raise a ServiceResponseException (optionally with this status and
    error_code). Returns the exception."""
    try:
        fn()
    except ServiceResponseException as e:
        if status is not None:
            eq(e.status_code, status, "%s: HTTP status (error_code %r, error_msg %r)"
               % (what, e.error_code, e.error_msg))
        if error_code is not None:
            eq(e.error_code, error_code, "%s: error_code (error_msg %r)" % (what, e.error_msg))
        if e.status_code < 500:
            check(isinstance(e, ClientRequestException),
                  "%s: a %s raised %s, not ClientRequestException" % (what, e.status_code, type(e).__name__))
        return e
    except ScenarioFailure:
        raise
    except Exception as e:
        fail("%s: expected an SDK service error, got %s: %s" % (what, type(e).__name__, e))
    fail("%s: expected an SDK service error, but the call succeeded" % what)


UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
SCNET_TIME_RE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$")
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
AUTH_RE = re.compile(r"^SDK-HMAC-SHA256 Access=([^,]+), SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$")


def _rfc3986(s):
    return quote(s, safe="~")  # keeps A-Za-z0-9 - . _ ~


def spec_signature(method, url, headers, body, sk):
    """Recompute an SDK-HMAC-SHA256 signature the way the server has to: only from
    what is sent (method, path and query of the URL, header values, body bytes).
    Returns (authorization fields, recomputed signature, canonical request)."""
    lower = {}
    for k, v in headers.items():
        lower[k.lower()] = v.decode("latin-1") if isinstance(v, bytes) else str(v)
    m = AUTH_RE.match(lower.get("authorization", ""))
    check(m, "the SDK sent no SDK-HMAC-SHA256 Authorization header: %r" % lower.get("authorization"))
    access, signed, signature = m.groups()
    signed_list = signed.split(";")

    parts = urlsplit(url)
    uri = "/".join(_rfc3986(seg) for seg in unquote(parts.path).split("/"))
    if not uri.endswith("/"):
        uri += "/"
    pairs = []
    for item in parts.query.split("&") if parts.query else []:
        k, _, v = item.partition("=")
        pairs.append((unquote(k), unquote(v)))
    pairs.sort()
    query = "&".join("%s=%s" % (_rfc3986(k), _rfc3986(v)) for k, v in pairs)

    canon_headers = "".join("%s:%s\n" % (h, lower.get(h, "").strip()) for h in signed_list)
    if isinstance(body, str):
        body = body.encode("utf-8")
    if not body:
        payload = EMPTY_SHA256
    elif "x-sdk-content-sha256" in lower:
        payload = lower["x-sdk-content-sha256"]
    else:
        payload = hashlib.sha256(body).hexdigest()
    canonical = "\n".join([method.upper(), uri, query, canon_headers, signed, payload])
    string_to_sign = "SDK-HMAC-SHA256\n%s\n%s" % (
        lower.get("x-sdk-date", ""), hashlib.sha256(canonical.encode("utf-8")).hexdigest())
    mine = hmac.new(sk.encode("utf-8"), string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
    return {"access": access, "signed": signed_list, "signature": signature,
            "headers": lower}, mine, canonical


class Wire:
    """HttpHandler for an SDK client: checks every signed request against
    spec_signature (optionally tampers with it afterwards) and records requests
    and responses."""

    def __init__(self, sk, tamper=None):
        self.sk = sk
        self.tamper = tamper
        self.requests = []  # (method, url, signed header list, headers)
        self.responses = []  # (method, url, status, X-Request-Id)

    def handler(self):
        return HttpHandler().add_request_handler(self.on_request).add_response_handler(self.on_response)

    def on_request(self, request=None, **_):
        url = request.url
        auth, mine, canonical = spec_signature(request.method, url, request.header_params,
                                               request.body, self.sk)
        if not hmac.compare_digest(mine, auth["signature"]):
            fail("the SDK's signature of %s %s differs from the algorithm the server implements "
                 "(spec_signature); canonical request as recomputed:\n%s" % (request.method, url, canonical))
        for h in ("host", "x-sdk-date", "x-project-id", "content-type"):
            check(h in auth["signed"], "%s %s: %r is not among the signed headers %r"
                  % (request.method, url, h, auth["signed"]))
        self.requests.append((request.method, url, auth["signed"], auth["headers"]))
        if not LAST["frozen"]:
            LAST["request"] = (request.method, url, canonical)
        if self.tamper:
            self.tamper(request)

    def on_response(self, response=None, **_):
        self.responses.append((response.request.method, response.request.url, response.status_code,
                               response.headers.get("X-Request-Id")))


def http_config():
    config = HttpConfig.get_default_config()
    config.timeout = (10, 60)
    return config


def build(client_cls, url, ak, sk, project_id, wire, preset_headers=None):
    client = client_cls.new_builder() \
        .with_credentials(BasicCredentials(ak, sk, project_id)) \
        .with_endpoint(url) \
        .with_http_config(http_config()) \
        .with_http_handler(wire.handler()) \
        .build()
    if preset_headers:
        client.preset_headers = dict(preset_headers)
    return client


# --------------------------------------------------------------------------
# scenario

class Scenario:
    def __init__(self):
        self.url = env("IMAGEHUB_URL").rstrip("/")
        check(self.url.startswith("http://") or self.url.startswith("https://"),
              "IMAGEHUB_URL must start with http:// or https:// (a scheme-less endpoint "
              "becomes https for the SDK), got %r" % self.url)
        self.ak_a, self.sk_a, self.project_a = env("IMAGEHUB_AK_A"), env("IMAGEHUB_SK_A"), env("IMAGEHUB_PROJECT_A")
        self.ak_b, self.sk_b, self.project_b = env("IMAGEHUB_AK_B"), env("IMAGEHUB_SK_B"), env("IMAGEHUB_PROJECT_B")
        for name, pid in (("A", self.project_a), ("B", self.project_b)):
            check(re.fullmatch(r"[0-9a-f]{32}", pid),
                  "IMAGEHUB_PROJECT_%s must be 32 lowercase hex, got %r" % (name, pid))
        check(self.project_a != self.project_b, "projects A and B must differ")

        self.run = uuid.uuid4().hex[:8]
        self.ns = "hsdk-%s" % self.run  # SWR namespace of this run
        self.pt_name = "pytorch-%s" % self.run
        self.tf_name = "tensorflow-%s" % self.run
        self.registry = "swr.example.com"

        self.wire_a = Wire(self.sk_a)
        self.wire_b = Wire(self.sk_b)
        self.ma_a = build(ModelArtsClient, self.url, self.ak_a, self.sk_a, self.project_a, self.wire_a)
        self.ma_b = build(ModelArtsClient, self.url, self.ak_b, self.sk_b, self.project_b, self.wire_b)
        self.ims_a = build(ImsClient, self.url, self.ak_a, self.sk_a, self.project_a, self.wire_a)
        self.ims_b = build(ImsClient, self.url, self.ak_b, self.sk_b, self.project_b, self.wire_b)

        self.images = {}  # tag label ("pt-v1", ...) -> RegisterImageResponse
        self.deleted = set()  # ModelArts ids deleted by the scenario
        self.glance_ids = []  # IMS images to clean up

    def swr(self, name, tag):
        return "%s/%s/%s:%s" % (self.registry, self.ns, name, tag)

    # -- a. ModelArts ----------------------------------------------------------

    def register(self, label, name, tag, **kwargs):
        body = ImageRegRequest(swr_path=self.swr(name, tag), **kwargs)
        resp = self.ma_a.register_image(RegisterImageRequest(body=body))
        what = "RegisterImage %s" % label
        eq(resp.status_code, 200, what + " HTTP status")
        check(UUID_RE.match(resp.id or ""), "%s: id %r is not a UUID" % (what, resp.id))
        eq((resp.name, resp.namespace, resp.tag, resp.swr_path),
           (name, self.ns, tag, self.swr(name, tag)), what + " name/namespace/tag/swr_path")
        eq(resp.status, "ACTIVE", what + " status")
        eq(resp.type, "DEDICATED", what + " type")
        eq(resp.visibility, "PRIVATE", what + " visibility")
        eq(resp.workspace_id, "0", what + " workspace_id")
        for key in ("create_at", "update_at"):
            value = getattr(resp, key)
            check(isinstance(value, int) and value > 1_500_000_000_000,
                  "%s: %s %r is not epoch milliseconds" % (what, key, value))
        check(abs(resp.create_at / 1000.0 - time.time()) < 3600,
              "%s: create_at %r is not close to now" % (what, resp.create_at))
        self.images[label] = resp
        return resp

    def step_a_modelarts(self):
        step("a. ModelArts (A, AK/SK): RegisterImage x4 in namespace %s" % self.ns)
        r = self.register("pt-v1", self.pt_name, "v1", tags=["team=ml", "run=%s" % self.run, "sdk"],
                          description="scenario %s" % self.run, arch="X86_64", service_type="TRAIN",
                          resource_category=["CPU"], services=["NOTEBOOK"])
        eq(sorted((t.key, t.value) for t in (r.tags or [])),
           sorted([("team", "ml"), ("run", self.run), ("sdk", "")]), "RegisterImage pt-v1 tags")
        eq((r.arch or "").lower(), "x86_64", "RegisterImage pt-v1 arch")
        eq((r.service_type, r.resource_categories, r.dev_services, r.description),
           ("TRAIN", ["CPU"], ["NOTEBOOK"], "scenario %s" % self.run),
           "RegisterImage pt-v1 service_type/resource_categories/dev_services/description")
        self.register("pt-v2", self.pt_name, "v2", resource_category=["CPU"], tags=["run=%s" % self.run])
        self.register("pt-v3", self.pt_name, "v3", resource_category=["CPU"])
        r = self.register("tf-v1", self.tf_name, "v1", arch="AARCH64")
        eq((r.arch or "").lower(), "aarch64", "RegisterImage tf-v1 arch")
        eq(sorted(r.resource_categories or []), ["CPU", "GPU"], "RegisterImage tf-v1 default resource_categories")
        eq(sorted(r.dev_services or []), ["NOTEBOOK", "SSH"], "RegisterImage tf-v1 default dev_services")
        eq(r.tags, None, "RegisterImage tf-v1 tags (none given)")

        e = expect_sdk_error(
            lambda: self.ma_a.register_image(RegisterImageRequest(
                body=ImageRegRequest(swr_path=self.swr(self.pt_name, "v1")))),
            "RegisterImage of an already registered namespace/name:tag", 400, "ModelArts.6737")
        check(e.request_id, "the 400 carried no X-Request-Id (the SDK copies it into its exceptions)")

        step("a. ListImage type=DEDICATED name=pytorch (fuzzy) namespace sort_key=name,tag ASC, "
             "paging with limit 2")
        items, pages = self.walk_images(2, type="DEDICATED", name="pytorch", name_fuzzy_match=True,
                                        namespace=self.ns, sort_key="name,tag", sort_dir="ASC",
                                        workspace_id="0")
        eq([i.id for i in items], [self.images[k].id for k in ("pt-v1", "pt-v2", "pt-v3")],
           "ListImage pages (pytorch, sorted by name,tag ASC)")
        eq(len(pages), 2, "number of ListImage pages for 3 records with limit 2")
        eq([(p.total, p.size, p.current, p.pages) for p in pages], [(3, 2, 0, 2), (3, 2, 1, 2)],
           "ListImage envelopes (total, size=limit, current=offset/limit, pages)")
        first = items[0]
        eq((first.name, first.tag, first.namespace, first.type, first.status),
           (self.pt_name, "v1", self.ns, "DEDICATED", "ACTIVE"), "listed pt-v1 fields")
        eq(sorted((t.key, t.value) for t in (first.tags or [])),
           sorted([("team", "ml"), ("run", self.run), ("sdk", "")]), "listed pt-v1 tags")

        items, _ = self.walk_images(3, type="DEDICATED", namespace=self.ns)
        eq(sorted(i.id for i in items), sorted(r.id for r in self.images.values()),
           "ListImage namespace=%s (all four)" % self.ns)
        items, _ = self.walk_images(10, type="DEDICATED", namespace=self.ns, name=self.tf_name,
                                    name_fuzzy_match=False)
        eq([i.id for i in items], [self.images["tf-v1"].id], "ListImage exact name %s" % self.tf_name)
        items, _ = self.walk_images(10, type="DEDICATED", namespace=self.ns, name="orch-%s" % self.run)
        eq(len(items), 3, "ListImage fuzzy name 'orch-<run>' (substring) count")
        items, _ = self.walk_images(10, type="DEDICATED", namespace=self.ns, name="nothing-like-this")
        eq(items, [], "ListImage with a name matching nothing")

        step("a. ShowImage pt-v1")
        reg = self.images["pt-v1"]
        s = self.ma_a.show_image(ShowImageRequest(id=reg.id))
        eq(s.status_code, 200, "ShowImage HTTP status")
        for key in ("id", "name", "namespace", "tag", "swr_path", "type", "status", "visibility",
                    "create_at", "service_type", "resource_categories", "dev_services", "description"):
            eq(getattr(s, key), getattr(reg, key), "ShowImage %s" % key)
        eq(s.support_res_categories, ["CPU"], "ShowImage support_res_categories")

        step("a. ListImageGroup namespace=%s: version_count" % self.ns)
        groups = self.groups()
        eq(sorted(groups), sorted([self.pt_name, self.tf_name]), "ListImageGroup group names")
        eq((groups[self.pt_name].version_count, groups[self.tf_name].version_count), (3, 1),
           "ListImageGroup version_count (pytorch, tensorflow)")
        g = groups[self.pt_name]
        eq(g.namespace, self.ns, "group namespace")
        check(isinstance(g.create_at, int) and isinstance(g.update_at, int) and g.create_at <= g.update_at,
              "group create_at/update_at %r/%r" % (g.create_at, g.update_at))
        eq(g.create_at, min(self.images[k].create_at for k in ("pt-v1", "pt-v2", "pt-v3")),
           "group create_at (earliest of its images)")

        step("a. DeleteImage pt-v3 (with body is_force=false) and tf-v1 (no body); ShowImage -> 404")
        for label, body in (("pt-v3", DeleteImageRequestBody(is_force=False)), ("tf-v1", None)):
            iid = self.images[label].id
            d = self.ma_a.delete_image(DeleteImageRequest(id=iid, body=body))
            self.deleted.add(iid)
            eq(d.status_code, 200, "DeleteImage %s HTTP status" % label)
            eq((d.id, d.status), (iid, "DELETED"), "DeleteImage %s (id, status)" % label)
            e = expect_sdk_error(lambda: self.ma_a.show_image(ShowImageRequest(id=iid)),
                                 "ShowImage of deleted %s" % label, 404, "ModelArts.6797")
            check(e.request_id, "the 404 carried no X-Request-Id")
            expect_sdk_error(lambda: self.ma_a.delete_image(DeleteImageRequest(id=iid)),
                             "second DeleteImage of %s" % label, 404, "ModelArts.6797")
        items, _ = self.walk_images(10, type="DEDICATED", namespace=self.ns)
        eq(sorted(i.id for i in items), sorted([self.images["pt-v1"].id, self.images["pt-v2"].id]),
           "ListImage after the deletes")
        eq(self.groups()[self.pt_name].version_count, 2, "pytorch version_count after deleting v3")
        expect_sdk_error(lambda: self.ma_a.show_image(ShowImageRequest(id=str(uuid.uuid4()))),
                         "ShowImage of a random id", 404, "ModelArts.6797")

    def walk_images(self, limit, **filters):
        offset, items, pages = 0, [], []
        while True:
            page = self.ma_a.list_image(ListImageRequest(limit=limit, offset=offset, **filters))
            eq(page.status_code, 200, "ListImage HTTP status")
            data = page.data or []
            check(len(data) <= limit, "ListImage returned %d > limit %d records" % (len(data), limit))
            pages.append(page)
            items += data
            if len(data) < limit:
                return items, pages
            offset += len(data)
            check(len(pages) < 50, "ListImage paging does not end (limit %d, %r)" % (limit, filters))

    def groups(self):
        resp = self.ma_a.list_image_group(ListImageGroupRequest(namespace=self.ns, type="DEDICATED",
                                                                limit=10, offset=0))
        eq(resp.status_code, 200, "ListImageGroup HTTP status")
        data = resp.data or []
        eq((resp.total, resp.size, resp.current), (len(data), len(data), 1),
           "ListImageGroup envelope (total, size=records in page, current=offset/limit+1)")
        out = {}
        for g in data:
            check(g.name not in out, "group %s listed twice" % g.name)
            out[g.name] = g
        return out

    # -- b. negative AK/SK cases -------------------------------------------------

    def step_b_negative(self):
        step("b. wrong SK -> 401 APIGW.0301")
        bad = build(ModelArtsClient, self.url, self.ak_a, self.sk_a + "x", self.project_a, Wire(self.sk_a + "x"))
        e = expect_sdk_error(lambda: bad.list_image(ListImageRequest(type="DEDICATED", limit=1)),
                             "ListImage signed with a wrong SK", 401, "APIGW.0301")
        check(e.request_id, "the 401 carried no X-Request-Id")
        bad_ims = build(ImsClient, self.url, self.ak_a, "wrong-" + self.sk_a, self.project_a,
                        Wire("wrong-" + self.sk_a))
        e = expect_sdk_error(lambda: bad_ims.glance_list_images(GlanceListImagesRequest(limit=1)),
                             "IMS GlanceListImages signed with a wrong SK", 401)
        # imagehub's Glance face answers its own 401 page there (docs/API.md), so the SDK's
        # error_code is just "401"; Huawei's gateway would say APIGW.0301 in JSON.
        step("b.   (IMS answered error_code %r)" % e.error_code)

        step("b. unknown AK -> 401")
        ghost_sk = uuid.uuid4().hex
        ghost = build(ModelArtsClient, self.url, "GHOST" + uuid.uuid4().hex[:15].upper(), ghost_sk,
                      self.project_a, Wire(ghost_sk))
        e = expect_sdk_error(lambda: ghost.list_image(ListImageRequest(type="DEDICATED", limit=1)),
                             "ListImage with an unknown AK", 401)
        step("b.   (unknown AK answered error_code %r)" % e.error_code)

        step("b. signed date 20 minutes old -> 401 APIGW.0301")
        old = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(time.time() - 20 * 60))
        stale = build(ModelArtsClient, self.url, self.ak_a, self.sk_a, self.project_a, Wire(self.sk_a),
                      preset_headers={"X-Sdk-Date": old})  # the signer keeps a preset X-Sdk-Date
        expect_sdk_error(lambda: stale.list_image(ListImageRequest(type="DEDICATED", limit=1)),
                         "ListImage correctly signed at %s" % old, 401, "APIGW.0301")

        step("b. request altered after signing (query, body, signed header) -> 401 APIGW.0301")

        def tamper_query(req):
            check("limit=1" in req.uri, "tamper: no limit=1 in %r" % req.uri)
            req.uri = req.uri.replace("limit=1", "limit=2")

        t = build(ModelArtsClient, self.url, self.ak_a, self.sk_a, self.project_a, Wire(self.sk_a, tamper_query))
        expect_sdk_error(lambda: t.list_image(ListImageRequest(type="DEDICATED", limit=1)),
                         "ListImage whose query was changed after signing", 401, "APIGW.0301")

        def tamper_body(req):
            req.body = req.body.replace(b"tampered-a", b"tampered-b")

        t = build(ModelArtsClient, self.url, self.ak_a, self.sk_a, self.project_a, Wire(self.sk_a, tamper_body))
        expect_sdk_error(lambda: t.register_image(RegisterImageRequest(body=ImageRegRequest(
            swr_path=self.swr("tampered-a", "v1")))),
            "RegisterImage whose body was changed after signing", 401, "APIGW.0301")
        items, _ = self.walk_images(10, type="DEDICATED", namespace=self.ns, name="tampered")
        eq(items, [], "images registered by the tampered request")

        def tamper_header(req):
            req.header_params["X-Project-Id"] = self.project_b

        t = build(ModelArtsClient, self.url, self.ak_a, self.sk_a, self.project_a, Wire(self.sk_a, tamper_header))
        expect_sdk_error(lambda: t.list_image(ListImageRequest(type="DEDICATED", limit=1)),
                         "ListImage whose signed X-Project-Id was changed after signing", 401, "APIGW.0301")

        step("b. A's key with B's project id (path and X-Project-Id) -> 4xx")
        cross = build(ModelArtsClient, self.url, self.ak_a, self.sk_a, self.project_b, Wire(self.sk_a))
        e = expect_sdk_error(lambda: cross.list_image(ListImageRequest(type="DEDICATED", limit=1)),
                             "ModelArts ListImage with A's key in project B")
        check(400 <= e.status_code < 500, "A's key in project B: expected a 4xx, got %r" % e.status_code)
        step("b.   (ModelArts answered %s %s)" % (e.status_code, e.error_code))
        cross_ims = build(ImsClient, self.url, self.ak_a, self.sk_a, self.project_b, Wire(self.sk_a))
        e = expect_sdk_error(lambda: cross_ims.glance_list_images(GlanceListImagesRequest(limit=1)),
                             "IMS GlanceListImages with A's key and X-Project-Id of B")
        check(400 <= e.status_code < 500, "IMS A's key in project B: expected a 4xx, got %r" % e.status_code)
        step("b.   (IMS answered %s %s)" % (e.status_code, e.error_code))

        step("b. B's own key works, and B does not see A's private images")
        items = self.ma_b.list_image(ListImageRequest(type="DEDICATED", namespace=self.ns, limit=10)).data or []
        eq(items, [], "B's ListImage of A's namespace")
        expect_sdk_error(lambda: self.ma_b.show_image(ShowImageRequest(id=self.images["pt-v1"].id)),
                         "B's ShowImage of A's private image", 404, "ModelArts.6797")

    # -- c. IMS (Glance through the Huawei SDK) --------------------------------

    def step_c_ims(self):
        name = "ims-%s" % self.run
        tag = "hsdk-%s" % self.run
        step("c. IMS GlanceCreateImageMetadata %s" % name)
        resp = self.ims_a.glance_create_image_metadata(GlanceCreateImageMetadataRequest(
            body=GlanceCreateImageMetadataRequestBody(container_format="bare", disk_format="raw", name=name,
                                                      visibility="private", tags=[tag], min_ram=256,
                                                      min_disk=1, protected=False)))
        iid = resp.id
        check(UUID_RE.match(iid or ""), "GlanceCreateImageMetadata id %r is not a UUID" % iid)
        self.glance_ids.append(iid)
        eq(resp.status_code, 201, "GlanceCreateImageMetadata HTTP status")
        eq((resp.name, resp.status, resp.visibility, resp.container_format, resp.disk_format),
           (name, "queued", "private", "bare", "raw"), "created image name/status/visibility/formats")
        eq((resp.tags, resp.min_ram, resp.min_disk, resp.protected, resp.owner),
           ([tag], 256, 1, False, self.project_a), "created image tags/min_ram/min_disk/protected/owner")
        eq((resp._self, resp.file, resp.schema),
           ("/v2/images/%s" % iid, "/v2/images/%s/file" % iid, "/v2/schemas/image"),
           "created image self/file/schema links")

        step("c. GlanceListImages name=... and tag=... filters")
        lst = self.ims_a.glance_list_images(GlanceListImagesRequest(name=name, limit=10))
        eq([i.id for i in lst.images or []], [iid], "GlanceListImages name=%s" % name)
        check((lst.first or "").startswith("/v2/images"), "GlanceListImages first %r" % lst.first)
        eq(lst.schema, "/v2/schemas/images", "GlanceListImages schema")
        lst = self.ims_a.glance_list_images(GlanceListImagesRequest(tag=tag, visibility="private",
                                                                    sort_key="name", sort_dir="asc", limit=10))
        eq([(i.id, i.name, i.tags) for i in lst.images or []], [(iid, name, [tag])],
           "GlanceListImages tag=%s visibility=private" % tag)

        step("c. GlanceShowImage")
        s = self.ims_a.glance_show_image(GlanceShowImageRequest(image_id=iid))
        eq((s.id, s.name, s.status, s.visibility, s.owner, s.min_ram, s.tags),
           (iid, name, "queued", "private", self.project_a, 256, [tag]), "GlanceShowImage fields")

        step("c. GlanceUpdateImage (JSON patch replace /name; signed with UNSIGNED-PAYLOAD)")
        new_name = name + "-renamed"
        mark = len(self.wire_a.requests)
        u = self.ims_a.glance_update_image(GlanceUpdateImageRequest(
            image_id=iid, body=[GlanceUpdateImageRequestBody(op="replace", path="/name", value=new_name)]))
        eq((u.status_code, u.id, u.name), (200, iid, new_name), "GlanceUpdateImage (status, id, name)")
        method, url, signed, headers = self.wire_a.requests[mark]
        eq(method, "PATCH", "recorded update method")
        eq(headers.get("x-sdk-content-sha256"), "UNSIGNED-PAYLOAD", "PATCH X-Sdk-Content-Sha256")
        check("x-sdk-content-sha256" in signed, "PATCH did not sign x-sdk-content-sha256: %r" % signed)
        eq(self.ims_a.glance_show_image(GlanceShowImageRequest(image_id=iid)).name, new_name,
           "GlanceShowImage name after the update")

        step("c. B cannot see A's private IMS image")
        expect_sdk_error(lambda: self.ims_b.glance_show_image(GlanceShowImageRequest(image_id=iid)),
                         "B's GlanceShowImage of A's private image", 404)

        step("c. the ModelArts image is a docker image on the IMS/Glance face")
        pt = self.images["pt-v1"]
        s = self.ims_a.glance_show_image(GlanceShowImageRequest(image_id=pt.id))
        eq((s.id, s.container_format, s.disk_format, s.status, s.owner),
           (pt.id, "docker", "raw", "active", self.project_a), "ModelArts pt-v1 through IMS")

        step("c. GlanceDeleteImage, then GlanceShowImage -> 404")
        d = self.ims_a.glance_delete_image(GlanceDeleteImageRequest(image_id=iid))
        eq(d.status_code, 204, "GlanceDeleteImage HTTP status")
        self.glance_ids.remove(iid)
        expect_sdk_error(lambda: self.ims_a.glance_show_image(GlanceShowImageRequest(image_id=iid)),
                         "GlanceShowImage after delete", 404)
        expect_sdk_error(lambda: self.ims_a.glance_delete_image(GlanceDeleteImageRequest(image_id=iid)),
                         "second GlanceDeleteImage", 404)
        lst = self.ims_a.glance_list_images(GlanceListImagesRequest(tag=tag, limit=10))
        eq(lst.images or [], [], "GlanceListImages tag=%s after delete" % tag)

    # -- d. SCNet access-key tokens -------------------------------------------

    @staticmethod
    def scnet_signature(ak, sk, user, ts):
        message = json.dumps({"accessKey": ak, "timestamp": ts, "user": user}, separators=(",", ":"))
        return hmac.new(sk.encode("utf-8"), message.encode("utf-8"), hashlib.sha256).hexdigest()

    def scnet_post_token(self, ak, sk, user="alice", ts=None, signature=None):
        ts = ts if ts is not None else str(int(time.time()))
        sig = signature if signature is not None else self.scnet_signature(ak, sk, user, ts)
        resp = requests.post("%s/api/user/v3/tokens" % self.url, timeout=30,
                             headers={"user": user, "accessKey": ak, "timestamp": ts, "signature": sig})
        try:
            body = resp.json()
        except ValueError:
            fail("POST /api/user/v3/tokens answered %s with a non-JSON body: %r" % (resp.status_code, resp.text))
        check(isinstance(body, dict) and isinstance(body.get("code"), str),
              "POST /api/user/v3/tokens: no string code in %r" % body)
        return resp, body

    def scnet_token(self, ak, sk, who):
        resp, body = self.scnet_post_token(ak, sk)
        eq(resp.status_code, 200, "%s: POST /api/user/v3/tokens HTTP status (%s)" % (who, resp.text))
        eq((body.get("code"), body.get("msg")), ("0", "success"), "%s: token answer code/msg" % who)
        data = body.get("data")
        check(isinstance(data, list) and data, "%s: token answer data is not a non-empty list: %r" % (who, data))
        for entry in data:
            for key in ("clusterId", "clusterName", "token"):
                check(isinstance(entry.get(key), str) and entry[key],
                      "%s: token entry lacks a string %s: %r" % (who, key, entry))
        return data[0]["token"]

    def scnet_images(self, token):
        resp = requests.get("%s/ai/openapi/v2/instance-service/images" % self.url, timeout=30,
                            headers={"token": token, "Content-Type": "application/json"})
        eq(resp.status_code, 200, "GET instance-service/images HTTP status (%s)" % resp.text)
        body = resp.json()
        eq((body.get("code"), body.get("msg")), ("0", "success"), "instance-service/images code/msg")
        check(isinstance(body.get("data"), list), "instance-service/images data is not a list: %r" % body)
        return body["data"]

    def step_d_scnet(self):
        step("d. SCNet: POST /api/user/v3/tokens with A's access key")
        token = self.scnet_token(self.ak_a, self.sk_a, "A")

        step("d. SCNet: GET /ac/openapi/v2/tokens/state")
        resp = requests.get("%s/ac/openapi/v2/tokens/state" % self.url, headers={"token": token}, timeout=30)
        eq(resp.status_code, 200, "tokens/state HTTP status (%s)" % resp.text)
        eq(resp.json(), {"code": "0", "msg": "success", "data": "token is valid"}, "tokens/state answer")
        resp = requests.get("%s/ac/openapi/v2/tokens/state" % self.url, timeout=30,
                            headers={"token": "not-a-token-" + self.run})
        check(resp.headers.get("Content-Type", "").startswith("application/json"),
              "tokens/state with a bogus token: not JSON (%s %r)" % (resp.status_code, resp.text))
        check(resp.json().get("code") != "0", "tokens/state accepted a bogus token: %r" % resp.text)

        step("d. SCNet: GET /ai/openapi/v2/instance-service/images lists the remaining images")
        data = self.scnet_images(token)
        by_path = {i.get("path"): i for i in data}
        for label in ("pt-v1", "pt-v2"):
            img = self.images[label]
            item = by_path.get(img.swr_path)
            check(item, "instance-service/images lacks %s (%s); paths of this run: %r"
                  % (label, img.swr_path, sorted(p for p in by_path if p and self.ns in p)))
            eq((item.get("id"), item.get("name"), item.get("tag"), item.get("version")),
               (img.id.replace("-", ""), img.name, img.tag, "%s:%s" % (img.name, img.tag)),
               "SCNet %s id/name/tag/version" % label)
            eq((item.get("access"), item.get("isPresetImage"), item.get("acceleratorType"), item.get("type")),
               ("private", False, "cpu", "Base"), "SCNet %s access/isPresetImage/acceleratorType/type" % label)
            check(SCNET_TIME_RE.match(item.get("createTime") or ""),
                  "SCNet %s createTime %r is not YYYY-MM-DD HH:MM:SS" % (label, item.get("createTime")))
        for label in ("pt-v3", "tf-v1"):
            check(self.images[label].swr_path not in by_path,
                  "instance-service/images still lists deleted %s" % label)

        step("d. SCNet: B's token does not list A's private images")
        token_b = self.scnet_token(self.ak_b, self.sk_b, "B")
        paths_b = {i.get("path") for i in self.scnet_images(token_b)}
        check(not any(self.images[k].swr_path in paths_b for k in ("pt-v1", "pt-v2")),
              "B's token lists A's private images")

        step("d. SCNet: wrong signature, unknown key, stale and future timestamps -> non-0 code")
        cases = [
            ("signature keyed by a wrong SK", dict(ak=self.ak_a, sk=self.sk_a + "x")),
            ("signature over another user", dict(ak=self.ak_a, sk=self.sk_a,
                                                 signature=self.scnet_signature(self.ak_a, self.sk_a, "bob",
                                                                                str(int(time.time())))))
            ,
            ("unknown access key", dict(ak="GHOST" + self.run, sk=self.sk_a)),
            ("timestamp 20 minutes old", dict(ak=self.ak_a, sk=self.sk_a, ts=str(int(time.time()) - 1200))),
            ("timestamp 20 minutes ahead", dict(ak=self.ak_a, sk=self.sk_a, ts=str(int(time.time()) + 1200))),
        ]
        for what, kwargs in cases:
            resp, body = self.scnet_post_token(**kwargs)
            check(body["code"] != "0", "POST /api/user/v3/tokens with %s succeeded: %r" % (what, body))
            check(not body.get("data"), "POST /api/user/v3/tokens with %s returned data: %r" % (what, body))
            step("d.   %s: HTTP %s code %s" % (what, resp.status_code, body["code"]))

    # -- checks over every SDK exchange -----------------------------------------

    def check_wire(self):
        step("every ModelArts answer carried X-Request-Id; every SDK request verified against spec_signature")
        missing = [(m, u, s) for m, u, s, rid in self.wire_a.responses + self.wire_b.responses
                   if "/v1/" in u and not rid]
        check(not missing, "ModelArts responses without X-Request-Id: %r" % missing[:5])
        n = len(self.wire_a.requests) + len(self.wire_b.requests)
        check(n > 20, "only %d SDK requests were checked" % n)
        glance_missing = sum(1 for m, u, s, rid in self.wire_a.responses if "/v2/" in u and not rid)
        if glance_missing:
            step("note: %d IMS (/v2) answers had no X-Request-Id (the SDK's exceptions then carry "
                 "request_id None)" % glance_missing)

    def cleanup(self):
        LAST["frozen"] = True  # keep the failing request for the report
        for iid in list(self.glance_ids):
            try:
                self.ims_a.glance_delete_image(GlanceDeleteImageRequest(image_id=iid))
            except Exception:
                pass
        for img in self.images.values():
            if img.id in self.deleted:
                continue
            try:
                self.ma_a.delete_image(DeleteImageRequest(id=img.id))
            except Exception:
                pass

    def run_all(self):
        step("run id %s against %s" % (self.run, self.url))
        try:
            self.step_a_modelarts()
            self.step_b_negative()
            self.step_c_ims()
            self.step_d_scnet()
            self.check_wire()
        finally:
            self.cleanup()
        step("OK: all steps passed")


def print_vectors():
    """--print-vectors: deterministic signature test vectors made by the SDK's own
    Signer (fixed AK/SK/date/User-Agent), for the server's unit tests."""
    from huaweicloudsdkcore.sdk_request import SdkRequest
    from huaweicloudsdkcore.signer.signer import Signer

    ak, sk, project = "HPUAEXAMPLEAK0000001", "exampleSecretKey/with+chars=", "0123456789abcdef0123456789abcdef"
    cases = [
        ("GET", "/v1/%s/images" % project,
         [("limit", 10), ("name", "py torch"), ("name_fuzzy_match", True), ("offset", 0),
          ("sort_key", "name,tag"), ("type", "DEDICATED")], "application/json", None),
        ("POST", "/v1/%s/images" % project, [], "application/json;charset=utf-8",
         b'{"swr_path": "swr.example.com/ns/name:v1", "tags": ["k=v"]}'),
        ("DELETE", "/v1/%s/images/7f1c2a64-2f3e-4c55-9b1d-0a6d1c9e8b11" % project, [],
         "application/json;charset=utf-8", None),
        ("PATCH", "/v2/images/7f1c2a64-2f3e-4c55-9b1d-0a6d1c9e8b11", [],
         "application/openstack-images-v2.1-json-patch",
         b'[{"op": "replace", "path": "/name", "value": "n2"}]'),
    ]
    out = []
    for method, path, query, ctype, body in cases:
        headers = {"Content-Type": ctype, "User-Agent": "huaweicloud-usdk-python/3.0", "X-Project-Id": project,
                   "X-Sdk-Date": "20261122T055917Z"}
        req = SdkRequest(method=method, schema="http", host="127.0.0.1:8080", resource_path=path,
                         query_params=list(query), header_params=headers, body=body)
        Signer(BasicCredentials(ak, sk, project)).sign(req)
        _, mine, canonical = spec_signature(method, req.url, req.header_params, req.body, sk)
        out.append({"method": method, "url": req.url, "headers": req.header_params,
                    "body": (req.body or b"").decode(), "canonical_request": canonical,
                    "recomputed_signature_matches": mine in req.header_params["Authorization"]})
    print(json.dumps({"ak": ak, "sk": sk, "vectors": out}, indent=2))


def main():
    if sys.argv[1:] == ["--print-vectors"]:
        print_vectors()
        return 0
    try:
        Scenario().run_all()
    except ScenarioFailure as e:
        print("[huawei-scenario] FAIL: %s" % e, file=sys.stderr, flush=True)
        return 1
    except ServiceResponseException as e:
        print("[huawei-scenario] FAIL: unexpected SDK error in step %r: HTTP %s, error_code %r, "
              "error_msg %r, request_id %r" % (LAST["step"], e.status_code, e.error_code, e.error_msg,
                                               e.request_id), file=sys.stderr)
        if LAST["request"]:
            method, url, canonical = LAST["request"]
            print("[huawei-scenario] last SDK request: %s %s\n[huawei-scenario] its canonical request "
                  "(what the server must rebuild byte for byte):\n%s" % (method, url, canonical),
                  file=sys.stderr, flush=True)
        return 1
    except Exception:
        print("[huawei-scenario] FAIL: unexpected exception", file=sys.stderr)
        traceback.print_exc()
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
