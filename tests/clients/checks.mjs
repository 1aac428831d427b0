// What the client tests share: named checks that report an assertion's message and go on,
// and a last word that fails the process when any check failed.
let failures = 0;

export async function check(name, body) {
  try {
    await body();
    console.log(`ok   ${name}`);
  } catch (e) {
    failures += 1;
    console.log(`FAIL ${name}\n     ${String(e.stack ?? e).replaceAll("\n", "\n     ")}`);
  }
}

export function finish(what) {
  if (failures > 0) {
    console.log(`${what}: ${failures} check(s) failed`);
    process.exit(1);
  }
  console.log(`${what}: every check passed`);
}
