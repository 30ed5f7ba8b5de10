import assert from "node:assert/strict";
import { cloudFrom } from "../../../lib/host/cloud.ts";
import {
  containerFromEnviron,
  containerIdFromCgroup,
  containerIdFromMountInfo,
  parseContainerEnv,
} from "../../../lib/host/container.ts";
import type { DmiInfo } from "../../../lib/host/dmi.ts";
import { parseOsRelease } from "../../../lib/host/system.ts";
import { cpuInfoHasFlag, virtualizationFrom } from "../../../lib/host/virtualization.ts";

const ID = "3f4e2c1b0a9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f";

function dmi(fields: Partial<DmiInfo>): DmiInfo {
  return {
    sysVendor: "",
    productName: "",
    productVersion: "",
    productUuid: "",
    productSerial: "",
    boardVendor: "",
    boardAssetTag: "",
    chassisAssetTag: "",
    biosVendor: "",
    ...fields,
  };
}

Deno.test("os-release parsing handles quotes, comments and ID_LIKE lists", () => {
  const r = parseOsRelease(
    '# comment\nNAME="Ubuntu"\nVERSION_ID="22.04"\nID=ubuntu\nID_LIKE=debian\nPRETTY_NAME="Ubuntu 22.04.4 LTS"\n',
  );
  assert.deepEqual(r, {
    id: "ubuntu",
    idLike: ["debian"],
    name: "Ubuntu",
    version: "",
    versionId: "22.04",
    prettyName: "Ubuntu 22.04.4 LTS",
  });
  assert.deepEqual(parseOsRelease("ID='rocky'\nID_LIKE=\"rhel centos fedora\"").idLike, [
    "rhel",
    "centos",
    "fedora",
  ]);
});

Deno.test("container IDs come from cgroup paths of each runtime, and from mountinfo", () => {
  assert.deepEqual(containerIdFromCgroup(`12:pids:/docker/${ID}\n`), { id: ID, runtime: "docker" });
  assert.deepEqual(
    containerIdFromCgroup(`0::/system.slice/docker-${ID}.scope\n`),
    { id: ID, runtime: "docker" },
  );
  assert.deepEqual(
    containerIdFromCgroup(`0::/kubepods.slice/kubepods-pod1.slice/cri-containerd-${ID}.scope`),
    { id: ID, runtime: "containerd" },
  );
  assert.deepEqual(
    containerIdFromCgroup(`0::/kubepods/besteffort/pod1/${ID}`),
    { id: ID, runtime: "kubernetes" },
  );
  assert.deepEqual(containerIdFromCgroup(`0::/machine.slice/libpod-${ID}.scope`), {
    id: ID,
    runtime: "podman",
  });
  assert.equal(containerIdFromCgroup("0::/\n1:cpu:/\n"), undefined);
  const mount =
    `612 600 254:1 /var/lib/docker/containers/${ID}/hostname /etc/hostname rw,relatime - ext4 /dev/vda1 rw`;
  assert.deepEqual(containerIdFromMountInfo(mount), { id: ID, runtime: "docker" });
  assert.equal(containerIdFromMountInfo("612 600 254:1 / / rw - ext4 /dev/vda1 rw"), undefined);
});

Deno.test("Podman's .containerenv and PID 1's container= variable are read", () => {
  const env = parseContainerEnv('engine="podman-4.9"\nname="web"\nimage="docker.io/nginx:1"\n');
  assert.equal(env.get("name"), "web");
  assert.equal(env.get("image"), "docker.io/nginx:1");
  assert.equal(containerFromEnviron("PATH=/bin\0container=lxc\0HOME=/"), "lxc");
  assert.equal(containerFromEnviron("PATH=/bin\0"), "");
});

Deno.test("virtualization is named from DMI, Xen, or only flagged by the CPU", () => {
  const none = { cpuHypervisorFlag: false, hypervisorType: "", procXen: false };
  assert.deepEqual(virtualizationFrom({ ...none, dmi: dmi({}) }), {
    isVirtualized: false,
    type: "",
  });
  assert.deepEqual(
    virtualizationFrom({ ...none, cpuHypervisorFlag: true, dmi: dmi({ sysVendor: "QEMU" }) }),
    { isVirtualized: true, type: "qemu" },
  );
  assert.equal(
    virtualizationFrom({ ...none, dmi: dmi({ sysVendor: "VMware, Inc." }) }).type,
    "vmware",
  );
  assert.equal(
    virtualizationFrom({ ...none, dmi: dmi({ sysVendor: "Amazon EC2" }) }).type,
    "amazon",
  );
  assert.equal(virtualizationFrom({ ...none, hypervisorType: "xen", dmi: dmi({}) }).type, "xen");
  assert.deepEqual(virtualizationFrom({ ...none, cpuHypervisorFlag: true, dmi: dmi({}) }), {
    isVirtualized: true,
    type: "",
  });
  assert.equal(
    cpuInfoHasFlag("processor\t: 0\nflags\t\t: fpu vme hypervisor lm\n", "hypervisor"),
    true,
  );
  assert.equal(cpuInfoHasFlag("processor\t: 0\nflags\t\t: fpu vme lm\n", "hypervisor"), false);
});

Deno.test("the cloud is recognised from local facts only", () => {
  const env = (n: string) => (n === "AWS_REGION" ? "eu-west-1" : undefined);
  assert.deepEqual(
    cloudFrom(dmi({ sysVendor: "Amazon EC2", boardAssetTag: "i-0abc123def4567890" }), "", env),
    {
      provider: "aws",
      instanceId: "i-0abc123def4567890",
      instanceType: "",
      region: "eu-west-1",
      zone: "",
    },
  );
  assert.equal(cloudFrom(dmi({}), "ec2e1916-9099-7caf-fd21-012345abcdef", env).provider, "aws");
  assert.equal(cloudFrom(dmi({ productName: "Google Compute Engine" }), "", env).provider, "gcp");
  assert.equal(
    cloudFrom(dmi({ chassisAssetTag: "7783-7084-3265-9085-8269-3286-77" }), "", env).provider,
    "azure",
  );
  assert.equal(cloudFrom(dmi({ sysVendor: "QEMU" }), "", env).provider, "");
});
