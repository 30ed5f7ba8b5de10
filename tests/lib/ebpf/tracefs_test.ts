import assert from "node:assert/strict";
import { field, parseFormat } from "../../../lib/ebpf/tracefs.ts";
import { BpfError } from "../../../lib/ebpf/errors.ts";

// The format file of sock:inet_sock_set_state as Linux 6.18 prints it.
const FORMAT = `name: inet_sock_set_state
ID: 2287
format:
\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;
\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;
\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;
\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;

\tfield:const void * skaddr;\toffset:8;\tsize:8;\tsigned:0;
\tfield:int oldstate;\toffset:16;\tsize:4;\tsigned:1;
\tfield:int newstate;\toffset:20;\tsize:4;\tsigned:1;
\tfield:__u16 sport;\toffset:24;\tsize:2;\tsigned:0;
\tfield:__u16 dport;\toffset:26;\tsize:2;\tsigned:0;
\tfield:__u16 family;\toffset:28;\tsize:2;\tsigned:0;
\tfield:__u16 protocol;\toffset:30;\tsize:2;\tsigned:0;
\tfield:__u8 saddr[4];\toffset:32;\tsize:4;\tsigned:0;
\tfield:__u8 daddr[4];\toffset:36;\tsize:4;\tsigned:0;
\tfield:__u8 saddr_v6[16];\toffset:40;\tsize:16;\tsigned:0;
\tfield:__u8 daddr_v6[16];\toffset:56;\tsize:16;\tsigned:0;

print fmt: "family=%s protocol=%s"
`;

Deno.test("tracefs format parsing reads the id and every field's offset, size and sign", () => {
  const f = parseFormat("sock:inet_sock_set_state", FORMAT);
  assert.equal(f.id, 2287);
  assert.equal(f.fields.size, 15);
  assert.deepEqual(f.fields.get("skaddr"), {
    type: "const void *",
    name: "skaddr",
    offset: 8,
    size: 8,
    signed: false,
  });
  assert.deepEqual(f.fields.get("oldstate"), {
    type: "int",
    name: "oldstate",
    offset: 16,
    size: 4,
    signed: true,
  });
  assert.equal(f.fields.get("saddr_v6")!.type, "__u8[16]");
  assert.equal(field(f, "protocol", 2).offset, 30);
});

Deno.test("tracefs format parsing names the tracepoint and field when one is missing or resized", () => {
  const f = parseFormat("sock:inet_sock_set_state", FORMAT);
  assert.throws(() => field(f, "nope"), /Tracepoint sock:inet_sock_set_state has no field "nope"/);
  assert.throws(() => field(f, "sport", 4), /is 2 bytes, expected 4/);
  assert.throws(() => parseFormat("x:y", "format:\n"), BpfError);
});
