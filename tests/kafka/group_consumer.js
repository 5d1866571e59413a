// A third-party consumer of rotor's audit stream: a kafkajs consumer group
// reads the topic from the beginning and checks every event against the
// envelope docs/audit-events.md documents.
//   node group_consumer.js BROKERS TOPIC EXPECTED_EVENTS [TIMEOUT_SECONDS]
// Prints one JSON summary line; exits 0 when every message parsed, had the
// documented fields, and at least EXPECTED_EVENTS distinct event ids arrived.
'use strict';
const { Kafka, logLevel } = require('kafkajs');

const [brokers, topic, expectedText, timeoutText] = process.argv.slice(2);
const expected = Number(expectedText);
const timeoutMs = Number(timeoutText || 60) * 1000;
const ENVELOPE = ['data', 'datacontenttype', 'hash', 'id', 'prevhash', 'sequence', 'source', 'specversion',
  'subject', 'time', 'type'];

const ids = new Set();
let messages = 0;
const problems = [];

function check(key, value) {
  let ev;
  try {
    ev = JSON.parse(value);
  } catch (e) {
    return 'not JSON: ' + e.message;
  }
  const keys = Object.keys(ev).sort();
  if (keys.join(',') !== ENVELOPE.join(',')) return 'members ' + keys.join(',');
  if (ev.specversion !== '1.0') return 'specversion ' + ev.specversion;
  if (!/^\d{20}$/.test(ev.sequence)) return 'sequence ' + ev.sequence;
  if (ev.id !== ev.subject + '/' + ev.sequence) return 'id ' + ev.id;
  if (key !== ev.subject) return 'key ' + key + ' is not the subject ' + ev.subject;
  if (!ev.type.startsWith('dev.rotor.')) return 'type ' + ev.type;
  if (!/^[0-9a-f]{64}$/.test(ev.hash) || !/^[0-9a-f]{64}$/.test(ev.prevhash)) return 'hash or prevhash';
  if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/.test(ev.time)) return 'time ' + ev.time;
  if (typeof ev.data !== 'object' || typeof ev.data.phase !== 'string') return 'data.phase';
  ids.add(ev.id);
  return null;
}

async function main() {
  const kafka = new Kafka({ clientId: 'rotor-e2e', brokers: brokers.split(','), logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: 'rotor-e2e-' + process.pid });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let done;
  const finished = new Promise((resolve) => { done = resolve; });
  await consumer.run({
    eachMessage: async ({ message }) => {
      messages++;
      const problem = check(message.key ? message.key.toString() : null, message.value.toString());
      if (problem && problems.length < 10) problems.push(problem);
      if (ids.size >= expected) done();
    },
  });
  const timer = setTimeout(done, timeoutMs);
  await finished;
  clearTimeout(timer);
  await consumer.disconnect();
  const ok = problems.length === 0 && ids.size >= expected;
  console.log(JSON.stringify({ ok, messages, distinct_ids: ids.size, expected, problems }));
  process.exit(ok ? 0 : 1);
}

main().catch((e) => {
  console.log(JSON.stringify({ ok: false, error: String(e) }));
  process.exit(1);
});
