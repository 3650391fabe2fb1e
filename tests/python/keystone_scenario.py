"""Logging in with a password through imagehub's Keystone v3, with real clients only:
the openstack CLI and the glance CLI configured by nothing but the OS_* variables, and
openstacksdk with a clouds.yaml, as OpenStack users work; and the Huawei IAM token
request, whose token then works on the ModelArts face.

Environment: IMAGEHUB_URL; IMAGEHUB_PROJECT_A / IMAGEHUB_PROJECT_B (ids of the projects
named alpha and beta); IMAGEHUB_PASSWORD (of alice, member of alpha, and bob, member of
beta); IMAGEHUB_BIN_DIR (where the openstack and glance commands are)."""

import hashlib
import json
import os
import subprocess
import sys
import tempfile

import openstack
import requests

from scenario_common import check, env, eq, fail, run_main


def step(msg):
    print("[keystone-scenario] %s" % msg, flush=True)


class Scenario:
    def __init__(self):
        self.url = env("IMAGEHUB_URL")
        self.project_a = env("IMAGEHUB_PROJECT_A")
        self.project_b = env("IMAGEHUB_PROJECT_B")
        self.password = env("IMAGEHUB_PASSWORD")
        self.bin_dir = env("IMAGEHUB_BIN_DIR")
        self.home = tempfile.mkdtemp()

    def os_env(self, user, project):
        """Only the six variables an OpenStack user sets (and HOME, PATH)."""
        e = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
        e.update({
            "HOME": self.home,
            "OS_AUTH_URL": self.url + "/v3",
            "OS_USERNAME": user,
            "OS_PASSWORD": self.password,
            "OS_PROJECT_NAME": project,
            "OS_USER_DOMAIN_NAME": "Default",
            "OS_PROJECT_DOMAIN_NAME": "Default",
        })
        return e

    def run(self, command, args, user="alice", project="alpha", ok=True, password=None):
        e = self.os_env(user, project)
        if password is not None:
            e["OS_PASSWORD"] = password
        proc = subprocess.run([os.path.join(self.bin_dir, command)] + args, env=e, capture_output=True,
                              text=True, timeout=120, stdin=subprocess.DEVNULL)
        if ok and proc.returncode != 0:
            fail("%s %s exited %d\nstdout:\n%s\nstderr:\n%s"
                 % (command, " ".join(args), proc.returncode, proc.stdout, proc.stderr))
        if not ok and proc.returncode == 0:
            fail("%s %s succeeded, expected a failure:\n%s" % (command, " ".join(args), proc.stdout))
        return proc

    def osc_json(self, args, **kw):
        out = self.run("openstack", args + ["-f", "json"], **kw).stdout
        try:
            return json.loads(out)
        except ValueError:
            fail("openstack %s printed no JSON: %r" % (" ".join(args), out))

    def step_a_token_issue(self):
        step("a. openstack token issue with only OS_* set")
        t = self.osc_json(["token", "issue"])
        eq(t.get("project_id"), self.project_a, "token issue project_id")
        check(t.get("user_id") and t.get("id", "").startswith("ih_"), "token issue fields: %r" % t)
        check(t.get("expires"), "token issue has no expiry: %r" % t)
        proc = self.run("openstack", ["token", "issue"], ok=False, password="wrong-password")
        check("401" in proc.stderr or "uthenticat" in proc.stderr,
              "a wrong password reads as such: %r" % proc.stderr)

    def step_b_images(self):
        step("b. openstack image create --file / list / show / set / save / delete")
        data = os.urandom(64 * 1024 + 7)
        src = os.path.join(self.home, "disk.raw")
        with open(src, "wb") as f:
            f.write(data)
        img = self.osc_json(["image", "create", "--file", src, "--disk-format", "raw",
                             "--container-format", "bare", "ks-image"])
        self.image_id = img["id"]
        eq(img.get("status"), "active", "created image status")
        eq(img.get("checksum"), hashlib.md5(data).hexdigest(), "created image checksum")
        eq(img.get("owner"), self.project_a, "created image owner")
        listed = self.osc_json(["image", "list"])
        check(any(i.get("ID") == self.image_id for i in listed), "image list lacks the image: %r" % listed)
        self.run("openstack", ["image", "set", "--property", "stage=dev", "ks-image"])
        shown = self.osc_json(["image", "show", "ks-image"])
        props = shown.get("properties") or {}
        eq(props.get("stage"), "dev", "image set --property, as image show shows it")
        out = os.path.join(self.home, "saved.raw")
        self.run("openstack", ["image", "save", "--file", out, "ks-image"])
        with open(out, "rb") as f:
            check(f.read() == data, "openstack image save: the bytes differ")

    def step_c_members(self):
        step("c. members: image add project (the CLI resolves the project), image set --accept")
        self.run("openstack", ["image", "set", "--shared", self.image_id])
        member = self.osc_json(["image", "add", "project", self.image_id, self.project_b])
        eq(member.get("member_id") or member.get("Member ID"), self.project_b, "image add project member")
        eq(member.get("status") or member.get("Status"), "pending", "a new member is pending")
        self.run("openstack", ["image", "set", "--accept", self.image_id], user="bob", project="beta")
        seen = self.osc_json(["image", "show", self.image_id], user="bob", project="beta")
        eq(seen.get("id"), self.image_id, "bob sees the shared image")
        members = self.osc_json(["image", "member", "list", self.image_id])
        eq([m.get("Status") for m in members], ["accepted"], "member list after accept")
        # A project given by name resolves through the identity lookups for an administrator only;
        # bob may not read alpha's record, so the CLI's lookup is refused (and it then takes the
        # value as an id): that refusal is Keystone's 403, not a 404 from a missing route.
        r = requests.get(self.url + "/v3/projects/" + self.project_a,
                         headers={"X-Auth-Token": self.token_for("bob", "beta")}, timeout=30)
        eq(r.status_code, 403, "bob reading alpha's project record")

    def step_d_glance_cli(self):
        step("d. the glance CLI with a Keystone session (OS_* only)")
        proc = self.run("glance", ["image-list"])
        check(self.image_id in proc.stdout, "glance image-list lacks the image:\n%s" % proc.stdout)
        proc = self.run("glance", ["image-show", self.image_id])
        check("ks-image" in proc.stdout, "glance image-show:\n%s" % proc.stdout)

    def step_e_sdk_clouds_yaml(self):
        step("e. openstacksdk connect() with a clouds.yaml")
        path = os.path.join(self.home, "clouds.yaml")
        with open(path, "w") as f:
            f.write("clouds:\n  imagehub:\n    auth:\n      auth_url: %s/v3\n      username: alice\n"
                    "      password: '%s'\n      project_name: alpha\n      user_domain_name: Default\n"
                    "      project_domain_name: Default\n    region_name: RegionOne\n"
                    % (self.url, self.password))
        os.environ["OS_CLIENT_CONFIG_FILE"] = path
        conn = openstack.connect(cloud="imagehub")
        eq(conn.current_project_id, self.project_a, "sdk current project")
        data = os.urandom(32 * 1024)
        src = os.path.join(self.home, "sdk.raw")
        with open(src, "wb") as f:
            f.write(data)
        img = conn.create_image("ks-sdk", filename=src, disk_format="raw", container_format="bare", wait=True)
        eq(img.status, "active", "sdk create_image status")
        out = os.path.join(self.home, "sdk.out")
        conn.download_image(img.id, output_path=out)
        with open(out, "rb") as f:
            check(f.read() == data, "sdk download_image bytes differ")
        check(any(i.id == img.id for i in conn.image.images()), "sdk image list lacks the image")
        conn.delete_image(img.id, wait=True)

    def token_for(self, user, project):
        r = requests.post(self.url + "/v3/auth/tokens", json={"auth": {
            "identity": {"methods": ["password"], "password": {"user": {
                "name": user, "password": self.password, "domain": {"name": "Default"}}}},
            "scope": {"project": {"name": project}}}}, timeout=30)
        eq(r.status_code, 201, "POST /v3/auth/tokens for %s: %s" % (user, r.text))
        return r.headers["X-Subject-Token"]

    def step_f_huawei_iam(self):
        step("f. the Huawei IAM token request; the token on the ModelArts face")
        token = self.token_for("alice", "alpha")
        r = requests.get("%s/v1/%s/images" % (self.url, self.project_a), headers={"X-Auth-Token": token}, timeout=30)
        eq(r.status_code, 200, "ModelArts ListImage with the IAM token: %s" % r.text)
        check("data" in r.json(), "ModelArts list shape: %s" % r.text[:200])

    def step_g_delete(self):
        step("g. openstack image delete")
        self.run("openstack", ["image", "delete", self.image_id])
        r = requests.get("%s/v2/images/%s" % (self.url, self.image_id),
                         headers={"X-Auth-Token": self.token_for("alice", "alpha")}, timeout=30)
        eq(r.status_code, 404, "the deleted image")

    def run_all(self):
        self.step_a_token_issue()
        self.step_b_images()
        self.step_c_members()
        self.step_d_glance_cli()
        self.step_e_sdk_clouds_yaml()
        self.step_f_huawei_iam()
        self.step_g_delete()
        step("OK: all steps passed")


if __name__ == "__main__":
    sys.exit(run_main(Scenario(), "keystone-scenario"))
