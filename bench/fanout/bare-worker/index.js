// The baseline: POST /send → one id on the queue; the consumer relays each id to the double.
let n = 0;

export default {
  async fetch(req, env) {
    if (req.method === "GET") return new Response("ok");
    const url = new URL(req.url);
    if (url.pathname === "/fanout") {
      // One request fans out to n queued ids, like a scheduler tick releasing n due messages.
      const { n, offset = 0 } = await req.json();
      for (let i = 0; i < n; i += 100) {
        const chunk = [];
        for (let j = i; j < Math.min(n, i + 100); j++) {
          chunk.push({
            body: {
              id: `bare_fan_${offset + j}`,
              to: `+1415${200 + Math.floor((offset + j) / 10000)}${String((offset + j) % 10000).padStart(4, "0")}`,
            },
          });
        }
        await env.Q.sendBatch(chunk);
      }
      return Response.json({ queued: n }, { status: 202 });
    }
    const { to } = await req.json();
    const id = `bare_${Date.now().toString(36)}_${++n}`;
    await env.Q.send({ id, to });
    return Response.json({ id, status: "queued" }, { status: 202 });
  },

  async queue(batch, env) {
    await Promise.all(
      batch.messages.map(async (m) => {
        const form = new URLSearchParams({ To: m.body.to, From: "+15005550006", Body: m.body.id });
        try {
          const res = await fetch(`${env.DOUBLE_URL}/2010-04-01/Accounts/ACbench/Messages.json`, {
            method: "POST",
            headers: {
              "content-type": "application/x-www-form-urlencoded",
              authorization: `Basic ${btoa("ACbench:x")}`,
            },
            body: form.toString(),
          });
          await res.arrayBuffer();
          if (res.status === 201) m.ack();
          else m.retry();
        } catch {
          m.retry();
        }
      }),
    );
  },
};
