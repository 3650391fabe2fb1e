#!/usr/bin/env python3
"""End-to-end scenario: drive imagehub's Glance face (/v2) with real, unmodified
OpenStack clients (python-glanceclient library + `glance` CLI, openstacksdk, the `openstack` CLI).

Exit status 0 on success; non-zero with a "FAIL: ..." line on the first failed
expectation. Inputs (environment):

  IMAGEHUB_URL            http://127.0.0.1:PORT (no trailing slash, no /v2)
  IMAGEHUB_TOKEN_A        `member` token of project A
  IMAGEHUB_PROJECT_A      project A's id (32 lowercase hex)
  IMAGEHUB_TOKEN_B        `member` token of project B
  IMAGEHUB_PROJECT_B      project B's id
  IMAGEHUB_TOKEN_ADMIN    an admin token
  IMAGEHUB_GLANCE_BIN     path of the `glance` CLI (from the venv)

Run it with the venv built by scripts/python-env (pins in requirements.txt:
python-glanceclient 4.13.0, openstacksdk 4.22.0 with keystoneauth1, warlock).

How the clients are pointed at the server (no Keystone anywhere):
  * glanceclient: glanceclient.Client('2', endpoint=URL, token=TOKEN). An endpoint
    plus a token gives the plain requests-based HTTPClient: no catalog, no version
    discovery, every path is built as URL + '/v2/...'.
  * openstacksdk: Connection(auth_type='admin_token', auth={'token', 'endpoint'},
    image_endpoint_override=URL, image_api_version='2'). `admin_token` is
    keystoneauth's token_endpoint.Token plugin (the SDK maps the old name
    `token_endpoint` to it): it returns the fixed token as X-Auth-Token and never
    talks to Keystone. Because both the override and the version are given, the
    SDK trusts them, but it still calls get_endpoint_data(), i.e. keystoneauth
    version discovery: one unauthenticated GET of the override URL (GET /), then
    it uses <override>/v2/ as the base of every image call. cloud=None means no
    clouds.yaml and no OS_* variables are read.
  * glance CLI: --os-image-url URL --os-auth-token TOKEN [--os-image-api-version 2].
    It runs with a fresh HOME (schema cache ~/.glanceclient) and no OS_* variables.

SERVER-SIDE REQUIREMENTS found in the client sources (easy to miss):
  1. GET / must answer the versions document (200 or 300) WITHOUT a token and
     with `Accept: application/json` (openstacksdk/keystoneauth discovery); if it
     fails the SDK raises DiscoveryFailure before any image call. With an override
     ending in /v2, GET /v2 must answer it too. The SDK ignores the host in the
     hrefs (it keeps the override's host) but needs a v2.x id in the document.
  2. GET /versions: glanceclient accepts 200 or 300 there only (300 on any other
     path raises HTTPMultipleChoices). The CLI without --os-image-api-version
     needs an id starting with "v2" and then GET /v2/schemas/image (also
     /v2/schemas/metadefs/namespace and .../resource_type; those two may fail).
  3. Every image body must validate against GET /v2/schemas/image (warlock /
     jsonschema): glanceclient validates the create response, the GET done by
     images.update(), and every attribute it sets. Nullable base fields need
     "type": ["null", ...]; extra properties must be strings
     ("additionalProperties": {"type": "string"}). Member bodies are validated
     against /v2/schemas/member (status enum, etc.).
  4. In /v2/schemas/image the non-base properties (os_distro, kernel_id, ...)
     must carry "is_base": false: glanceclient treats a schema property without
     it as base and turns a newly added value into `replace` (=> 409 for a
     missing extra property) instead of `add`.
  5. No "default" keyword on schema properties: warlock 2.x copies every
     schema default into new/fetched models, so glanceclient would POST/PATCH
     them (e.g. a default on a read-only property => 403).
  6. glanceclient sends `Content-Type: application/octet-stream` on EVERY
     request without a body (GET, DELETE, PUT /tags/x, POST /actions/x), and
     `Accept: */*` everywhere. The server must ignore that Content-Type on
     body-less requests (no 415) and must not require a JSON content type there.
  7. Error bodies: glanceclient reads `Content-Type` of error responses with
     response.headers['content-type'] (KeyError if absent => always send it on
     non-empty error bodies). For `application/json` it does
     `[v.get('message') for v in body.values()]`, which crashes on webob's flat
     {"message","code","title"} JSON; for `Accept: */*` answer the webob HTML
     variant (it strips tags and joins lines with ': '). The SDK sends
     `Accept: application/json` on list calls (flat JSON is fine there, root
     "message" is used), `Accept: */*` on GET/DELETE of one image, `Accept: ''`
     on PATCH.
  8. Pagination: glanceclient requests URL + body['next'] verbatim, so `next`
     must be a path starting with /v2/images? and carry every filter, `limit`,
     sort_key/sort_dir and repeated tag=... params. openstacksdk strips the
     leading /v2 from `next`, re-parses its query (so `next` must contain
     limit=N, otherwise the page size falls back to the server default), and
     after a page WITHOUT `next` it still sends one more request with
     marker=<last id of that page>&limit=N (it does that whenever limit was
     given): a marker that is the last row must give 200 with images=[].
  9. PATCH: glanceclient and openstacksdk both send
     `application/openstack-images-v2.1-json-patch`. glanceclient's
     images.update() sends `replace` for base attributes, `add`/`remove` for
     extra properties, and ALWAYS appends `{"op":"replace","path":"/tags",
     "value":[...]}` when the image has tags; it then GETs the image again.
     The SDK PATCH carries `Accept: ''` (=> webob text/plain error bodies).
 10. Member create must return the member JSON (glanceclient validates it);
     the code (200) is not checked by the clients. openstacksdk's Member class
     reads the member id from a `member` key which Glance does not send, so the
     scenario only checks `status` through the SDK.
 11. openstacksdk's deactivate_image()/reactivate_image() never raise on an
     HTTP error (they ignore the response); the scenario therefore checks the
     403 through a raw `conn.image.post(...)` + exceptions.raise_from_response.
 12. Protected-image DELETE must be 403 (glanceclient maps it to HTTPForbidden;
     the CLI prints "You are not permitted to delete the image").
 13. `glance image-create` uploads data when stdin is not a TTY; with stdin
     closed (`<&-`, os.fstat(0) fails) it does not. It GETs
     /v2/schemas/image twice (shell + model) before POST /v2/images.
"""

import hashlib
import io
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
import time
import uuid

import glanceclient
from glanceclient import exc as gexc
import openstack
from openstack import exceptions as sdkexc


# --------------------------------------------------------------------------
# helpers

from scenario_common import check, env, eq, fail, run_main  # noqa: E402

def step(msg):
    print("[glance-scenario] %s" % msg, flush=True)


def expect_raises(exc_types, fn, what):
    """Call fn(); it must raise one of exc_types. Returns the exception."""
    try:
        fn()
    except exc_types as e:  # noqa: B014
        return e
    except Exception as e:  # pragma: no cover - reported as a failure
        hint = ""
        if isinstance(e, AttributeError) and "has no attribute 'get'" in str(e):
            hint = (" (glanceclient could not parse a flat JSON error body: it sends "
                    "Accept: */*, which must get webob's HTML error page)")
        fail("%s: expected %s, got %s: %s%s"
             % (what, _names(exc_types), type(e).__name__, e, hint))
    fail("%s: expected %s, but the call succeeded" % (what, _names(exc_types)))


def _names(exc_types):
    if isinstance(exc_types, tuple):
        return " or ".join(t.__name__ for t in exc_types)
    return exc_types.__name__


TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def _text(value):
    # glanceclient hands requests ASCII-encoded header names and values
    return value.decode("ascii") if isinstance(value, bytes) else value


class Recorder:
    """requests response hook: remembers (method, url, status, request headers)."""

    def __init__(self):
        self.calls = []

    def hook(self, resp, *args, **kwargs):
        self.calls.append({
            "method": resp.request.method,
            "url": resp.request.url,
            "status": resp.status_code,
            "req_headers": {_text(k): _text(v) for k, v in resp.request.headers.items()},
            "request_id": resp.headers.get("x-openstack-request-id"),
        })

    def mark(self):
        return len(self.calls)

    def since(self, mark, method=None, path_prefix=None):
        out = []
        for c in self.calls[mark:]:
            if method and c["method"] != method:
                continue
            if path_prefix and path_prefix not in c["url"]:
                continue
            out.append(c)
        return out


def gc_client(url, token, recorder):
    client = glanceclient.Client("2", endpoint=url, token=token)
    # HTTPClient keeps a plain requests.Session
    client.http_client.session.hooks["response"].append(recorder.hook)
    return client


def sdk_conn(url, token, recorder):
    # auth_type 'admin_token' == keystoneauth1.token_endpoint.Token: a fixed token
    # (sent as X-Auth-Token) and a fixed endpoint, no Keystone, no catalog.
    # image_endpoint_override + image_api_version make the SDK skip the catalog;
    # it still runs version discovery on the override (GET URL/), see header.
    conn = openstack.connection.Connection(
        auth_type="admin_token",
        auth={"token": token, "endpoint": url},
        image_endpoint_override=url,
        image_api_version="2",
    )
    conn.session.session.hooks["response"].append(recorder.hook)
    return conn


def validate_gc_image(client, image, what):
    """The image must validate against the server's /v2/schemas/image."""
    try:
        client.images.model(**dict(image))
    except ValueError as e:
        fail("%s does not validate against /v2/schemas/image: %s" % (what, e))


def sdk_prop(image, key):
    """Extra property through the SDK: attribute if the SDK knows it, else properties."""
    props = image.properties or {}
    if key in props:
        return props[key]
    return getattr(image, key, None)


def gc_error_text(e):
    return getattr(e, "details", None) or str(e)


def assert_readable(text, what, *needles):
    check(isinstance(text, str) and text.strip(), "%s: empty error message" % what)
    # glanceclient/openstacksdk strip the tags of webob's HTML page; webob's
    # JSON variant keeps "<br /><br />" in "message" (as Glance does), so only
    # a raw page dump counts as unreadable.
    check(not re.search(r"<\s*/?\s*(html|head|body|title|h1)\b", text, re.I),
          "%s: error message is a raw HTML page: %r" % (what, text))
    low = text.lower()
    for n in needles:
        check(n.lower() in low, "%s: error message %r does not mention %r" % (what, text, n))


# --------------------------------------------------------------------------
# scenario

class Scenario:
    def __init__(self):
        self.url = env("IMAGEHUB_URL").rstrip("/")
        self.token_a = env("IMAGEHUB_TOKEN_A")
        self.project_a = env("IMAGEHUB_PROJECT_A")
        self.token_b = env("IMAGEHUB_TOKEN_B")
        self.project_b = env("IMAGEHUB_PROJECT_B")
        self.token_admin = env("IMAGEHUB_TOKEN_ADMIN")
        self.glance_bin = env("IMAGEHUB_GLANCE_BIN")
        self.openstack_bin = os.path.join(os.path.dirname(self.glance_bin), "openstack")
        for name, pid in (("A", self.project_a), ("B", self.project_b)):
            check(re.fullmatch(r"[0-9a-f]{32}", pid),
                  "IMAGEHUB_PROJECT_%s must be 32 lowercase hex, got %r" % (name, pid))

        self.run = uuid.uuid4().hex[:10]
        self.tag = "scn-%s" % self.run
        self.rec_gc = Recorder()
        self.rec_sdk = Recorder()
        self.created = []  # ids to clean up
        self.names = {}  # id -> current name (images 1..9)
        self.ids = {}  # n -> id

        self.ga = gc_client(self.url, self.token_a, self.rec_gc)
        self.gb = gc_client(self.url, self.token_b, self.rec_gc)
        self.gadmin = gc_client(self.url, self.token_admin, self.rec_gc)

    # -- small utilities ----------------------------------------------------

    def gc_list(self, client, **kwargs):
        return list(client.images.list(**kwargs))

    def name_of(self, n):
        return "%s-%d" % (self.tag, n)

    def check_common_image(self, img, what):
        check(UUID_RE.match(img["id"] or ""), "%s: id %r is not a UUID" % (what, img.get("id")))
        for key in ("created_at", "updated_at"):
            check(TIMESTAMP.match(img.get(key) or ""),
                  "%s: %s %r is not YYYY-MM-DDTHH:MM:SSZ" % (what, key, img.get(key)))
        eq(img.get("file"), "/v2/images/%s/file" % img["id"], "%s file link" % what)
        eq(img.get("schema"), "/v2/schemas/image", "%s schema link" % what)
        for key in ("checksum", "size", "virtual_size", "os_hash_algo", "os_hash_value"):
            check(key in img, "%s: base key %r missing" % (what, key))
            eq(img[key], None, "%s %s of a queued image" % (what, key))

    # -- steps --------------------------------------------------------------

    def step_a_create(self):
        step("a. glanceclient (A) creates 9 private images tagged %s" % self.tag)
        for n in range(1, 10):
            kwargs = dict(name=self.name_of(n), container_format="bare", disk_format="raw",
                          visibility="private", tags=[self.tag], min_ram=128 * n)
            if n % 2:
                kwargs["os_distro"] = "ubuntu"
            img = self.ga.images.create(**kwargs)
            self.created.append(img["id"])
            self.ids[n] = img["id"]
            self.names[img["id"]] = self.name_of(n)
            what = "created image %d" % n
            eq(img["name"], self.name_of(n), what + " name")
            eq(img["status"], "queued", what + " status")
            eq(img["visibility"], "private", what + " visibility")
            eq(img["tags"], [self.tag], what + " tags")
            eq(img["min_ram"], 128 * n, what + " min_ram")
            eq(img["min_disk"], 0, what + " min_disk")
            eq(img["protected"], False, what + " protected")
            eq(img.get("os_hidden"), False, what + " os_hidden")
            eq(img["container_format"], "bare", what + " container_format")
            eq(img["disk_format"], "raw", what + " disk_format")
            eq(img["owner"], self.project_a, what + " owner")
            eq(img.get("os_distro"), "ubuntu" if n % 2 else None, what + " os_distro")
            self.check_common_image(img, what)
        check(len(set(self.ids.values())) == 9, "the 9 images do not have distinct ids")

        # The raw body (self link, Location) as seen through glanceclient's transport.
        resp, body = self.ga.http_client.get("/v2/images/%s" % self.ids[1])
        eq(resp.status_code, 200, "GET /v2/images/{id} status")
        eq(body.get("self"), "/v2/images/%s" % self.ids[1], "raw image self link")
        check(resp.headers.get("x-openstack-request-id", "").startswith("req-"),
              "x-openstack-request-id header missing or not req-<uuid>: %r"
              % resp.headers.get("x-openstack-request-id"))

    def step_b_gc_list(self):
        step("b. glanceclient list: tag / os_distro filters, page_size=2, sort by name")
        mark = self.rec_gc.mark()
        imgs = self.gc_list(self.ga, filters={"tag": [self.tag]}, page_size=2,
                            sort_key="name", sort_dir="asc")
        names = [i["name"] for i in imgs]
        eq(names, [self.name_of(n) for n in range(1, 10)], "tag list sorted by name asc")
        calls = self.rec_gc.since(mark, "GET", "/v2/images")
        eq(len(calls), 5, "number of pages fetched for 9 images with page_size=2 "
                          "(urls: %s)" % [c["url"] for c in calls])
        for i, c in enumerate(calls):
            u = c["url"]
            for needle in ("tag=%s" % self.tag, "limit=2", "sort_key=name", "sort_dir=asc"):
                check(needle in u, "page %d request %s lacks %s (next link dropped it)"
                      % (i + 1, u, needle))
            if i:
                check("marker=" in u, "page %d request %s has no marker" % (i + 1, u))
        for img in imgs:
            validate_gc_image(self.ga, img, "listed image %s" % img["name"])
            eq(img["owner"], self.project_a, "listed image owner")

        mark = self.rec_gc.mark()
        imgs = self.gc_list(self.ga, filters={"tag": [self.tag], "os_distro": "ubuntu"},
                            page_size=2, sort_key="name", sort_dir="asc")
        eq([i["name"] for i in imgs], [self.name_of(n) for n in (1, 3, 5, 7, 9)],
           "tag+os_distro=ubuntu list sorted by name asc")
        calls = self.rec_gc.since(mark, "GET", "/v2/images")
        eq(len(calls), 3, "pages fetched for 5 images with page_size=2")
        for c in calls:
            check("os_distro=ubuntu" in c["url"], "request %s lost os_distro" % c["url"])

        imgs = self.gc_list(self.ga, filters={"tag": [self.tag]}, page_size=4,
                            sort_key="name", sort_dir="desc")
        eq([i["name"] for i in imgs], [self.name_of(n) for n in range(9, 0, -1)],
           "tag list sorted by name desc")
        imgs = self.gc_list(self.ga, filters={"tag": [self.tag]}, page_size=3, sort="name:asc")
        eq([i["name"] for i in imgs], [self.name_of(n) for n in range(1, 10)],
           "tag list with sort=name:asc")
        imgs = self.gc_list(self.ga, filters={"tag": [self.tag], "min_ram": str(128 * 4)})
        eq([i["name"] for i in imgs], [self.name_of(4)], "tag+min_ram=512 list")
        imgs = self.gc_list(self.ga, filters={"tag": [self.tag]}, limit=3, page_size=2,
                            sort_key="name", sort_dir="asc")
        eq([i["name"] for i in imgs], [self.name_of(n) for n in (1, 2, 3)], "limit=3 list")

        # Visibility: B sees none of A's private images, the admin sees all 9.
        eq(self.gc_list(self.gb, filters={"tag": [self.tag]}), [], "B's tag list (A's private images)")
        e = expect_raises(gexc.HTTPNotFound, lambda: self.gb.images.get(self.ids[1]),
                          "B GETs A's private image")
        assert_readable(gc_error_text(e), "B GET private image 404", self.ids[1])
        admin_names = sorted(i["name"] for i in self.gc_list(self.gadmin, filters={"tag": [self.tag]}))
        eq(admin_names, [self.name_of(n) for n in range(1, 10)], "admin's tag list")

        # Errors on list parameters parse too.
        e = expect_raises(gexc.HTTPBadRequest,
                          lambda: list(self.ga.images.list(sort_key="bogus", sort_dir="asc")),
                          "glanceclient list sort_key=bogus")
        assert_readable(gc_error_text(e), "sort_key=bogus 400", "bogus")
        e = expect_raises(gexc.HTTPBadRequest,
                          lambda: list(self.ga.images.list(marker=str(uuid.uuid4()))),
                          "glanceclient list with an unknown marker")
        assert_readable(gc_error_text(e), "unknown marker 400")

    def step_c_sdk_list_get(self):
        step("c. openstacksdk (A): images(tag=..., limit=2) follows next; get_image fields")
        self.conn_a = sdk_conn(self.url, self.token_a, self.rec_sdk)
        self.conn_b = sdk_conn(self.url, self.token_b, self.rec_sdk)
        for who, conn in (("A", self.conn_a), ("B", self.conn_b)):
            try:
                endpoint = conn.image.get_endpoint()  # triggers the version discovery
            except Exception as e:
                fail("openstacksdk (%s) version discovery failed; GET %s/ must answer the "
                     "versions document without a token: %s: %s"
                     % (who, self.url, type(e).__name__, e))
            eq(endpoint.rstrip("/"), self.url + "/v2", "openstacksdk image endpoint (%s)" % who)
        mark = self.rec_sdk.mark()
        imgs = list(self.conn_a.image.images(tag=self.tag, limit=2))
        eq(sorted(i.name for i in imgs), [self.name_of(n) for n in range(1, 10)],
           "SDK tag list names")
        eq(len(imgs), 9, "SDK tag list length (duplicates across pages?)")
        calls = self.rec_sdk.since(mark, "GET", "/v2/images")
        # 5 pages; the SDK adds one more marker request after a page without next.
        check(len(calls) >= 5, "SDK fetched only %d pages: %s" % (len(calls), [c["url"] for c in calls]))
        for c in calls:
            check("tag=%s" % self.tag in c["url"] and "limit=2" in c["url"],
                  "SDK page request %s lost tag or limit" % c["url"])
            eq(c["req_headers"].get("Accept"), "application/json", "SDK list Accept header")
            eq(c["status"], 200, "SDK page request %s status" % c["url"])

        imgs = list(self.conn_a.image.images(tag=self.tag, sort_key="name", sort_dir="asc", limit=4))
        eq([i.name for i in imgs], [self.name_of(n) for n in range(1, 10)], "SDK list sorted by name asc")
        imgs = list(self.conn_a.image.images(tag=self.tag, sort="name:desc"))
        eq([i.name for i in imgs], [self.name_of(n) for n in range(9, 0, -1)], "SDK list sort=name:desc")

        for n in (3, 4):
            img = self.conn_a.image.get_image(self.ids[n])
            what = "SDK get_image(%d)" % n
            eq(img.id, self.ids[n], what + " id")
            eq(img.name, self.name_of(n), what + " name")
            eq(img.visibility, "private", what + " visibility")
            eq(img.tags, [self.tag], what + " tags")
            eq(img.min_ram, 128 * n, what + " min_ram")
            eq(img.min_disk, 0, what + " min_disk")
            eq(img.status, "queued", what + " status")
            eq(img.is_protected, False, what + " is_protected")
            eq(img.owner_id, self.project_a, what + " owner_id")
            eq(img.disk_format, "raw", what + " disk_format")
            eq(img.container_format, "bare", what + " container_format")
            eq(sdk_prop(img, "os_distro"), "ubuntu" if n % 2 else None, what + " os_distro")

    def step_d_patch(self):
        step("d. PATCH via glanceclient (name, min_disk, add new_prop, remove os_distro) and openstacksdk")
        iid = self.ids[1]
        new_name = "%s-1-renamed" % self.tag
        mark = self.rec_gc.mark()
        img = self.ga.images.update(iid, name=new_name, min_disk=5, new_prop="x",
                                    remove_props=["os_distro"])
        patches = self.rec_gc.since(mark, "PATCH")
        eq(len(patches), 1, "glanceclient PATCH requests")
        eq(patches[0]["req_headers"].get("Content-Type"),
           "application/openstack-images-v2.1-json-patch", "glanceclient PATCH media type")
        eq(patches[0]["status"], 200, "glanceclient PATCH status")
        for source, im in (("update() result", img), ("re-read", self.ga.images.get(iid))):
            eq(im["name"], new_name, "glanceclient %s name" % source)
            eq(im["min_disk"], 5, "glanceclient %s min_disk" % source)
            eq(im.get("new_prop"), "x", "glanceclient %s new_prop" % source)
            check("os_distro" not in im, "glanceclient %s still has os_distro" % source)
            eq(im["tags"], [self.tag], "glanceclient %s tags" % source)
            eq(im["min_ram"], 128, "glanceclient %s min_ram" % source)
            validate_gc_image(self.ga, im, "patched image (%s)" % source)
        self.names[iid] = new_name

        sdk_name = "%s-1-sdk" % self.tag
        mark = self.rec_sdk.mark()
        img = self.conn_a.image.update_image(iid, name=sdk_name)
        eq(img.name, sdk_name, "SDK update_image result name")
        patches = self.rec_sdk.since(mark, "PATCH")
        eq(len(patches), 1, "SDK PATCH requests")
        eq(patches[0]["req_headers"].get("Content-Type"),
           "application/openstack-images-v2.1-json-patch", "SDK PATCH media type")
        eq(patches[0]["status"], 200, "SDK PATCH status")
        img = self.conn_a.image.get_image(iid)
        eq(img.name, sdk_name, "SDK re-read name")
        eq(img.min_disk, 5, "SDK re-read min_disk")
        eq(sdk_prop(img, "new_prop"), "x", "SDK re-read new_prop (properties)")
        eq(sdk_prop(img, "os_distro"), None, "SDK re-read os_distro after removal")
        eq(img.tags, [self.tag], "SDK re-read tags")
        self.names[iid] = sdk_name

        # An extra property the SDK knows as an attribute: replace through the SDK.
        img = self.conn_a.image.update_image(self.ids[3], os_distro="debian")
        eq(sdk_prop(img, "os_distro"), "debian", "SDK update_image os_distro result")
        eq(self.ga.images.get(self.ids[3]).get("os_distro"), "debian",
           "os_distro of image 3 after SDK update")

        imgs = self.gc_list(self.ga, filters={"tag": [self.tag], "os_distro": "ubuntu"},
                            page_size=2, sort_key="name", sort_dir="asc")
        eq([i["name"] for i in imgs], [self.name_of(n) for n in (5, 7, 9)],
           "os_distro=ubuntu list after the PATCHes")
        imgs = self.gc_list(self.ga, filters={"tag": [self.tag], "new_prop": "x"})
        eq([i["id"] for i in imgs], [iid], "new_prop=x list")

    def step_e_tags(self):
        step("e. tags: PUT/DELETE /tags/extra via glanceclient (and openstacksdk)")
        i2, i4 = self.ids[2], self.ids[4]
        self.ga.image_tags.update(i2, "extra")
        self.ga.image_tags.update(i2, "extra")  # idempotent
        self.ga.image_tags.update(i4, "extra")
        eq(sorted(self.ga.images.get(i2)["tags"]), sorted([self.tag, "extra"]), "tags after PUT extra")

        mark = self.rec_gc.mark()
        imgs = self.gc_list(self.ga, filters={"tag": [self.tag, "extra"]}, page_size=1,
                            sort_key="name", sort_dir="asc")
        eq([i["id"] for i in imgs], [i2, i4], "list tag=%s&tag=extra" % self.tag)
        calls = self.rec_gc.since(mark, "GET", "/v2/images")
        check(len(calls) >= 2, "two-tag list with page_size=1 fetched %d page(s)" % len(calls))
        for c in calls:
            check("tag=%s" % self.tag in c["url"] and "tag=extra" in c["url"],
                  "request %s lost one of the repeated tag parameters" % c["url"])

        self.ga.image_tags.delete(i2, "extra")
        eq(self.ga.images.get(i2)["tags"], [self.tag], "tags after DELETE extra")
        e = expect_raises(gexc.HTTPNotFound, lambda: self.ga.image_tags.delete(i2, "extra"),
                          "DELETE of an absent tag")
        assert_readable(gc_error_text(e), "absent tag 404")
        self.ga.image_tags.delete(i4, "extra")

        img = self.conn_a.image.get_image(i2)
        self.conn_a.image.add_tag(img, "sdk-extra")
        eq(sorted(self.conn_a.image.get_image(i2).tags), sorted([self.tag, "sdk-extra"]),
           "tags after SDK add_tag")
        self.conn_a.image.remove_tag(img, "sdk-extra")
        eq(self.conn_a.image.get_image(i2).tags, [self.tag], "tags after SDK remove_tag")
        # PATCH /tags must not have been needed for any of this, and tags of others untouched
        eq(self.ga.images.get(i4)["tags"], [self.tag], "tags of image 4 at the end")

    def step_f_sharing(self):
        step("f. sharing: A shares with B; pending / accepted / rejected")
        share_tag = "%s-share" % self.tag
        img = self.ga.images.create(name="%s-shared" % self.tag, container_format="bare",
                                    disk_format="raw", visibility="shared", tags=[share_tag])
        sid = img["id"]
        self.created.append(sid)
        self.shared_id = sid
        eq(img["visibility"], "shared", "shared image visibility")

        m = self.ga.image_members.create(sid, self.project_b)
        eq(m["status"], "pending", "new member status")
        eq(m["member_id"], self.project_b, "new member member_id")
        eq(m["image_id"], sid, "new member image_id")
        check(TIMESTAMP.match(m.get("created_at") or ""), "member created_at %r" % m.get("created_at"))
        e = expect_raises(gexc.HTTPConflict, lambda: self.ga.image_members.create(sid, self.project_b),
                          "adding B twice")
        assert_readable(gc_error_text(e), "duplicate member 409")

        def b_default(**extra):
            filters = {"tag": [share_tag]}
            filters.update(extra)
            return [i["id"] for i in self.gc_list(self.gb, filters=filters)]

        def b_unfiltered_has(image_id):
            return image_id in [i["id"] for i in self.gc_list(self.gb)]

        eq(b_default(), [], "B's default list while pending")
        check(not b_unfiltered_has(sid), "B's unfiltered default list shows a pending share")
        eq(b_default(visibility="shared", member_status="pending"), [sid],
           "B's list visibility=shared&member_status=pending")
        eq(self.gb.images.get(sid)["id"], sid, "B GETs the pending share")
        sdk_pending = [i.id for i in self.conn_b.image.images(
            tag=share_tag, visibility="shared", member_status="pending")]
        eq(sdk_pending, [sid], "B's SDK list visibility=shared&member_status=pending")

        e = expect_raises(gexc.HTTPForbidden,
                          lambda: self.ga.image_members.update(sid, self.project_b, "accepted"),
                          "the owner accepting on behalf of B")
        assert_readable(gc_error_text(e), "owner accepts 403")

        m = self.gb.image_members.update(sid, self.project_b, "accepted")
        eq(m["status"], "accepted", "member status after B accepts")
        eq(b_default(), [sid], "B's default list after accepting")
        check(b_unfiltered_has(sid), "B's unfiltered default list lacks the accepted share")
        members = list(self.ga.image_members.list(sid))
        eq([(x["member_id"], x["status"]) for x in members], [(self.project_b, "accepted")],
           "member list seen by A after accept")
        members_b = list(self.gb.image_members.list(sid))
        eq([x["member_id"] for x in members_b], [self.project_b], "member list seen by B")
        eq([x.status for x in self.conn_a.image.members(sid)], ["accepted"],
           "SDK member list seen by A")

        m = self.gb.image_members.update(sid, self.project_b, "rejected")
        eq(m["status"], "rejected", "member status after B rejects")
        eq(b_default(), [], "B's default list after rejecting")
        check(not b_unfiltered_has(sid), "B's unfiltered default list shows a rejected share")
        eq(b_default(visibility="shared", member_status="rejected"), [sid],
           "B's list member_status=rejected")
        got = self.gb.images.get(sid)
        eq((got["id"], got["name"]), (sid, "%s-shared" % self.tag), "B GETs the rejected share")
        members = list(self.ga.image_members.list(sid))
        eq([(x["member_id"], x["status"]) for x in members], [(self.project_b, "rejected")],
           "member list seen by A after reject")
        m = self.ga.image_members.get(sid, self.project_b)
        eq(m["status"], "rejected", "GET member as A")

        e = expect_raises(gexc.HTTPForbidden,
                          lambda: self.ga.image_members.create(self.ids[2], self.project_b),
                          "adding a member to a private image")
        assert_readable(gc_error_text(e), "member on private image 403")

        self.ga.image_members.delete(sid, self.project_b)
        eq(list(self.ga.image_members.list(sid)), [], "member list after removing B")
        expect_raises(gexc.HTTPNotFound, lambda: self.gb.images.get(sid),
                      "B GETs the image after being removed")

    def step_g_deactivate(self):
        step("g. deactivate/reactivate: a queued image -> 403; an active one round-trips")
        iid = self.ids[5]
        e = expect_raises(gexc.HTTPForbidden, lambda: self.ga.images.deactivate(iid),
                          "glanceclient deactivate of a queued image")
        assert_readable(gc_error_text(e), "deactivate 403", "deactivate", "queued")
        e = expect_raises(gexc.HTTPForbidden, lambda: self.ga.images.reactivate(iid),
                          "glanceclient reactivate of a queued image")
        assert_readable(gc_error_text(e), "reactivate 403")
        eq(self.ga.images.get(iid)["status"], "queued", "status after refused deactivate")

        # openstacksdk: deactivate_image() ignores the HTTP status (it neither
        # raises nor returns the response), so it must at least not break anything...
        try:
            self.conn_a.image.deactivate_image(iid)
        except sdkexc.ForbiddenException:
            pass  # a future SDK that checks the response would land here
        eq(self.conn_a.image.get_image(iid).status, "queued", "status after SDK deactivate_image")
        # ...and the SDK's own error parsing is exercised on the raw action call.
        resp = self.conn_a.image.post("/images/%s/actions/deactivate" % iid)
        eq(resp.status_code, 403, "SDK POST /actions/deactivate status")
        e = expect_raises(sdkexc.ForbiddenException,
                          lambda: sdkexc.raise_from_response(resp),
                          "openstacksdk raise_from_response on the deactivate answer")
        assert_readable(e.details, "SDK deactivate 403", "deactivate")

        # An active image: registered through imagehub's ModelArts face (one catalog,
        # every face), then deactivated and reactivated through the Glance clients.
        import requests
        project_a = os.environ["IMAGEHUB_PROJECT_A"]
        resp = requests.post("%s/v1/%s/images" % (self.url, project_a),
                             headers={"X-Auth-Token": self.token_a},
                             json={"swr_path": "swr.example.com/scn/active-%s:v1" % self.tag})
        eq(resp.status_code, 200, "ModelArts RegisterImage status (%s)" % resp.text)
        aid = resp.json()["id"]
        self.created.append(aid)
        img = self.ga.images.get(aid)
        eq((img["status"], img["container_format"]), ("active", "docker"), "registered image through glanceclient")
        self.ga.images.deactivate(aid)
        eq(self.ga.images.get(aid)["status"], "deactivated", "status after glanceclient deactivate")
        self.ga.images.reactivate(aid)
        eq(self.ga.images.get(aid)["status"], "active", "status after glanceclient reactivate")
        self.conn_a.image.deactivate_image(aid)
        eq(self.conn_a.image.get_image(aid).status, "deactivated", "status after openstacksdk deactivate_image")
        self.conn_a.image.reactivate_image(aid)
        eq(self.conn_a.image.get_image(aid).status, "active", "status after openstacksdk reactivate_image")

    def step_h_errors(self):
        step("h. error bodies parse: unknown image through both clients")
        rid = str(uuid.uuid4())
        e = expect_raises(gexc.HTTPNotFound, lambda: self.ga.images.get(rid),
                          "glanceclient images.get(random uuid)")
        assert_readable(gc_error_text(e), "glanceclient 404", rid)
        check(rid in str(e), "str(HTTPNotFound) %r does not mention the id" % str(e))

        e = expect_raises(sdkexc.NotFoundException, lambda: self.conn_a.image.get_image(rid),
                          "openstacksdk get_image(random uuid)")
        check(isinstance(e, sdkexc.ResourceNotFound), "SDK 404 is not ResourceNotFound")
        eq(e.status_code, 404, "SDK 404 status_code")
        assert_readable(e.details, "SDK 404", rid)

        # JSON error variant: the SDK lists with Accept: application/json.
        e = expect_raises(sdkexc.BadRequestException,
                          lambda: list(self.conn_a.image.images(sort_key="bogus", sort_dir="asc")),
                          "openstacksdk list with sort_key=bogus")
        assert_readable(e.details, "SDK 400 (JSON body)", "bogus")

        # openstacksdk spells booleans in Python's words (os_hidden=True): find_image of a
        # missing name asks for hidden images too, and must answer None, not raise.
        missing = "%s-no-such-image" % self.tag
        eq(self.conn_a.image.find_image(missing), None, "SDK find_image(missing name)")
        hidden = self.ga.images.create(name="%s-hidden" % self.tag, container_format="bare",
                                       disk_format="raw", visibility="private", os_hidden=True)["id"]
        self.created.append(hidden)
        mark = self.rec_sdk.mark()
        listed = [i.id for i in self.conn_a.image.images(tag=None, is_hidden=True)]
        check(hidden in listed, "SDK images(is_hidden=True) lacks the hidden image")
        check(any("os_hidden=True" in c["url"] for c in self.rec_sdk.since(mark, "GET", "/v2/images")),
              "the SDK did not send os_hidden=True (the case this checks)")
        check(hidden not in [i.id for i in self.conn_a.image.images()], "a hidden image is listed by default")
        found = self.conn_a.image.find_image("%s-hidden" % self.tag)
        eq(found.id if found else None, hidden, "SDK find_image(hidden image's name)")

    def step_i_delete(self):
        step("i. delete with both clients; protected image -> 403 until unprotected")
        d1 = self.ga.images.create(name="%s-del-gc" % self.tag, container_format="bare",
                                   disk_format="raw", visibility="private")["id"]
        d2 = self.ga.images.create(name="%s-del-sdk" % self.tag, container_format="bare",
                                   disk_format="raw", visibility="private")["id"]
        self.created += [d1, d2]

        self.ga.images.delete(d1)
        expect_raises(gexc.HTTPNotFound, lambda: self.ga.images.get(d1), "glanceclient GET after delete")
        e = expect_raises(gexc.HTTPNotFound, lambda: self.ga.images.delete(d1), "second glanceclient delete")
        assert_readable(gc_error_text(e), "second delete 404", d1)
        check(d1 not in [i["id"] for i in self.gc_list(self.gadmin, filters={"name": "%s-del-gc" % self.tag})],
              "a deleted image is still listed (admin, name filter)")

        self.conn_a.image.delete_image(d2, ignore_missing=False)
        expect_raises(sdkexc.NotFoundException, lambda: self.conn_a.image.get_image(d2),
                      "SDK get_image after delete")
        expect_raises(sdkexc.NotFoundException,
                      lambda: self.conn_a.image.delete_image(d2, ignore_missing=False),
                      "second SDK delete_image")
        expect_raises(gexc.HTTPNotFound, lambda: self.ga.images.get(d2), "glanceclient GET after SDK delete")

        p = self.ga.images.create(name="%s-protected" % self.tag, container_format="bare",
                                  disk_format="raw", visibility="private", protected=True)
        pid = p["id"]
        self.created.append(pid)
        eq(p["protected"], True, "protected flag on create")
        e = expect_raises(gexc.HTTPForbidden, lambda: self.ga.images.delete(pid),
                          "glanceclient delete of a protected image")
        assert_readable(gc_error_text(e), "protected delete 403", "protected")
        expect_raises(sdkexc.ForbiddenException,
                      lambda: self.conn_a.image.delete_image(pid, ignore_missing=False),
                      "SDK delete of a protected image")
        eq(self.ga.images.get(pid)["status"], "queued", "protected image survives delete attempts")
        img = self.ga.images.update(pid, protected=False)
        eq(img["protected"], False, "protected after PATCH protected=False")
        self.ga.images.delete(pid)
        expect_raises(gexc.HTTPNotFound, lambda: self.ga.images.get(pid), "GET of the unprotected, deleted image")

    def cli(self, args, home, with_version=True, token=None):
        base = [self.glance_bin, "--os-image-url", self.url,
                "--os-auth-token", token or self.token_a]
        if with_version:
            base += ["--os-image-api-version", "2"]
        cmd = " ".join(shlex.quote(a) for a in base + args) + " <&-"
        child_env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
        child_env["HOME"] = home
        proc = subprocess.run(["bash", "-c", cmd], env=child_env, capture_output=True,
                              text=True, timeout=120)
        if proc.returncode != 0:
            fail("glance CLI %s exited %d\nstdout:\n%s\nstderr:\n%s"
                 % (" ".join(args), proc.returncode, proc.stdout, proc.stderr))
        return proc

    def step_j_cli(self):
        step("j. glance CLI: image-list, image-show, image-create (stdin closed), image-delete")
        with tempfile.TemporaryDirectory(prefix="glance-cli-home-") as home:
            out = self.cli(["image-list", "--tag", self.tag], home).stdout
            for n in range(1, 10):
                iid = self.ids[n]
                check(iid in out, "image-list --tag output lacks image %d (%s):\n%s" % (n, iid, out))
                check(self.names[iid] in out,
                      "image-list --tag output lacks name %s:\n%s" % (self.names[iid], out))

            iid = self.ids[2]
            out = self.cli(["image-show", iid], home).stdout
            check(self.names[iid] in out, "image-show output lacks the name:\n%s" % out)
            check(re.search(r"\|\s*status\s*\|\s*queued\s*\|", out), "image-show lacks status queued:\n%s" % out)

            cli_name = "cli-%s" % self.run
            out = self.cli(["image-create", "--name", cli_name, "--container-format", "bare",
                            "--disk-format", "raw"], home).stdout
            m = re.search(r"\|\s*id\s*\|\s*([0-9a-f-]{36})\s*\|", out)
            check(m, "image-create output has no id row:\n%s" % out)
            cid = m.group(1)
            self.created.append(cid)
            check(re.search(r"\|\s*name\s*\|\s*%s\s*\|" % re.escape(cli_name), out),
                  "image-create output lacks the name:\n%s" % out)
            img = self.ga.images.get(cid)
            eq((img["name"], img["status"], img["size"]), (cli_name, "queued", None),
               "CLI-created image (name, status, size): no data may have been uploaded")
            eq(img["owner"], self.project_a, "CLI-created image owner")

            self.cli(["image-delete", cid], home)
            expect_raises(gexc.HTTPNotFound, lambda: self.ga.images.get(cid), "GET after CLI image-delete")

        # Without --os-image-api-version: GET /versions, then /v2/schemas/* into ~/.glanceclient.
        with tempfile.TemporaryDirectory(prefix="glance-cli-home-") as home:
            proc = self.cli(["image-list", "--tag", self.tag], home, with_version=False)
            check("falling back to v1" not in proc.stderr,
                  "CLI fell back to v1 (version discovery or schema fetch failed):\n%s" % proc.stderr)
            for n in (1, 9):
                check(self.names[self.ids[n]] in proc.stdout,
                      "image-list (discovered version) lacks %s:\n%s" % (self.names[self.ids[n]], proc.stdout))
            schema_file = os.path.join(home, ".glanceclient", "image_schema.json")
            check(os.path.isfile(schema_file), "CLI did not cache /v2/schemas/image in %s" % schema_file)
            with open(schema_file) as f:
                schema = json.load(f)
            eq(schema.get("name"), "image", "cached image schema name")
            check("properties" in schema and "name" in schema["properties"],
                  "cached image schema has no properties.name")

    def openstack_cli(self, args, home):
        """The openstack CLI (python-openstackclient) with a fixed token and endpoint:
        auth type admin_token, the endpoint being the versioned image root (/v2)."""
        cmd = [self.openstack_bin, "--os-auth-type", "admin_token", "--os-token", self.token_a,
               "--os-endpoint", self.url + "/v2", "--os-image-api-version", "2"] + args
        child_env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
        child_env["HOME"] = home
        proc = subprocess.run(cmd, env=child_env, capture_output=True, text=True, timeout=120,
                              stdin=subprocess.DEVNULL)
        if proc.returncode != 0:
            fail("openstack %s exited %d\nstdout:\n%s\nstderr:\n%s"
                 % (" ".join(args), proc.returncode, proc.stdout, proc.stderr))
        return proc

    def wait_active(self, iid):
        for _ in range(300):
            img = self.ga.images.get(iid)
            if img["status"] == "active":
                return img
            check(img["status"] in ("uploading", "importing"),
                  "image %s became %s while importing: %s" % (iid, img["status"], dict(img)))
            time.sleep(0.05)
        fail("image %s did not become active" % iid)

    def step_k_data(self):
        step("k. image data: glanceclient upload/data, glance CLI --file/image-download, "
             "openstacksdk create_image(filename)/download_image, glance-direct import through "
             "glanceclient, the glance CLI and openstacksdk, openstack image create --file/save")
        data = os.urandom(3 * 1024 * 1024 + 12345)
        md5 = hashlib.md5(data).hexdigest()
        sha512 = hashlib.sha512(data).hexdigest()
        with tempfile.TemporaryDirectory(prefix="image-data-") as tmp:
            src = os.path.join(tmp, "disk.raw")
            with open(src, "wb") as f:
                f.write(data)

            # glanceclient: create, upload (chunked, no Content-Length), data() verifies md5.
            img = self.ga.images.create(name="data-gc-%s" % self.run, disk_format="raw",
                                        container_format="bare")
            self.created.append(img["id"])
            with open(src, "rb") as f:
                self.ga.images.upload(img["id"], f)
            img = self.ga.images.get(img["id"])
            eq((img["status"], img["size"], img["checksum"]), ("active", len(data), md5),
               "glanceclient upload: status, size, checksum")
            eq((img["os_hash_algo"], img["os_hash_value"]), ("sha512", sha512), "glanceclient upload: os_hash")
            got = b"".join(self.ga.images.data(img["id"]))
            check(got == data, "glanceclient images.data() bytes differ from the upload")
            expect_raises(gexc.HTTPConflict, lambda: self.ga.images.upload(img["id"], io.BytesIO(b"again")),
                          "a second upload to an active image")

            # The glance CLI.
            with tempfile.TemporaryDirectory(prefix="glance-cli-home-") as home:
                out = self.cli(["image-create", "--name", "data-cli-%s" % self.run, "--disk-format", "raw",
                                "--container-format", "bare", "--file", src], home).stdout
                m = re.search(r"\|\s*id\s*\|\s*([0-9a-f-]{36})\s*\|", out)
                check(m, "image-create --file output has no id row:\n%s" % out)
                cid = m.group(1)
                self.created.append(cid)
                check(re.search(r"\|\s*status\s*\|\s*active\s*\|", out), "image-create --file not active:\n%s" % out)
                dst = os.path.join(tmp, "cli.out")
                self.cli(["image-download", "--file", dst, cid], home)
                with open(dst, "rb") as f:
                    check(f.read() == data, "glance image-download bytes differ")

            # openstacksdk: the cloud layer uploads and compares checksums; download verifies md5.
            sdk_img = self.conn_a.create_image("data-sdk-%s" % self.run, filename=src, disk_format="raw",
                                               container_format="bare", wait=True, timeout=60)
            self.created.append(sdk_img.id)
            eq((sdk_img.status, sdk_img.size, sdk_img.checksum), ("active", len(data), md5),
               "openstacksdk create_image(filename=...): status, size, checksum")
            dst = os.path.join(tmp, "sdk.out")
            self.conn_a.download_image(sdk_img.id, output_file=dst)
            with open(dst, "rb") as f:
                check(f.read() == data, "openstacksdk download_image bytes differ")
            # A resumed download: the last part only, through the SDK's session.
            resp = self.conn_a.image.get("/images/%s/file" % sdk_img.id, headers={"Range": "bytes=1000-"})
            eq(resp.status_code, 206, "ranged download status")
            check(resp.content == data[1000:], "ranged download bytes differ")

            # Interoperable import (glance-direct): glanceclient stage + import, the CLI, the SDK.
            img = self.ga.images.create(name="data-import-%s" % self.run, disk_format="raw",
                                        container_format="bare")
            self.created.append(img["id"])
            with open(src, "rb") as f:
                self.ga.images.stage(img["id"], f)
            eq(self.ga.images.get(img["id"])["status"], "uploading", "status after staging")
            self.ga.images.image_import(img["id"], method="glance-direct")
            img = self.wait_active(img["id"])
            eq((img["size"], img["checksum"]), (len(data), md5), "glanceclient import: size, checksum")
            with tempfile.TemporaryDirectory(prefix="glance-cli-home-") as home:
                out = self.cli(["image-create-via-import", "--name", "data-cli-import-%s" % self.run,
                                "--disk-format", "raw", "--container-format", "bare",
                                "--import-method", "glance-direct", "--file", src], home).stdout
                m = re.search(r"\|\s*id\s*\|\s*([0-9a-f-]{36})\s*\|", out)
                check(m, "image-create-via-import output has no id row:\n%s" % out)
                self.created.append(m.group(1))
                eq(self.wait_active(m.group(1))["checksum"], md5, "glance image-create-via-import checksum")
            sdk_img = self.conn_a.create_image("data-sdk-import-%s" % self.run, filename=src, disk_format="raw",
                                               container_format="bare", use_import=True, wait=True, timeout=60)
            self.created.append(sdk_img.id)
            # The SDK returns while the import runs (as against Glance): poll.
            eq(self.wait_active(sdk_img.id)["checksum"], md5, "openstacksdk create_image(use_import=True)")

            # The openstack CLI.
            with tempfile.TemporaryDirectory(prefix="osc-home-") as home:
                out = self.openstack_cli(["image", "create", "--disk-format", "raw", "--container-format", "bare",
                                          "--file", src, "-f", "json", "data-osc-%s" % self.run], home).stdout
                created = json.loads(out)
                self.created.append(created["id"])
                eq((created["status"], created["size"], created["checksum"]), ("active", len(data), md5),
                   "openstack image create --file: status, size, checksum")
                dst = os.path.join(tmp, "osc.out")
                self.openstack_cli(["image", "save", "--file", dst, created["id"]], home)
                with open(dst, "rb") as f:
                    check(f.read() == data, "openstack image save bytes differ")

    def check_request_ids(self):
        step("all responses carried x-openstack-request-id")
        for rec, who in ((self.rec_gc, "glanceclient"), (self.rec_sdk, "openstacksdk")):
            missing = [(c["method"], c["url"], c["status"]) for c in rec.calls if not c["request_id"]]
            check(not missing, "%s responses without x-openstack-request-id: %s" % (who, missing[:5]))

    def cleanup(self):
        for iid in self.created:
            for client in (self.ga, self.gadmin):
                try:
                    try:
                        client.images.delete(iid)
                    except gexc.HTTPForbidden:
                        client.images.update(iid, protected=False)
                        client.images.delete(iid)
                    break
                except gexc.HTTPNotFound:
                    break
                except Exception:
                    continue

    def run_all(self):
        step("run id %s against %s" % (self.run, self.url))
        try:
            self.step_a_create()
            self.step_b_gc_list()
            self.step_c_sdk_list_get()
            self.step_d_patch()
            self.step_e_tags()
            self.step_f_sharing()
            self.step_g_deactivate()
            self.step_h_errors()
            self.step_i_delete()
            self.step_j_cli()
            self.step_k_data()
            self.check_request_ids()
        finally:
            self.cleanup()
        step("OK: all steps passed")


if __name__ == "__main__":
    sys.exit(run_main(Scenario(), "glance-scenario"))
