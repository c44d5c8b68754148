// The relay over TLS with a client certificate and a broker password: a real Mosquitto that
// requires both, and two `meshaid start` stations given --relay mqtts://... --relay-ca/-cert/-key
// and --relay-user/--relay-password. Certificates are made here with openssl.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import mqtt from "mqtt";
import { afterEach, describe, expect, it } from "vitest";
import { spawnMeshaid, type MeshaidProcess } from "../helpers/cli.ts";
import { Mosquitto } from "../helpers/mosquitto.ts";
import { stationDirs, watchVectors } from "../helpers/relay.ts";
import { useTempDir } from "../helpers/tmp.ts";

const dir = useTempDir("meshaid-relay-tls-");
let broker: Mosquitto | undefined;
let running: MeshaidProcess[] = [];

afterEach(async () => {
  for (const station of running) {
    station.child.kill("SIGTERM");
    await station.exit;
  }
  running = [];
  await broker?.stop("SIGKILL");
  broker = undefined;
});

function certificates(at: string): { ca: string; serverCert: string; serverKey: string; clientCert: string; clientKey: string } {
  const file = (name: string): string => join(at, name);
  const openssl = (...args: string[]): void => void execFileSync("openssl", args, { stdio: "ignore" });
  openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=meshaid test CA", "-keyout", file("ca.key"), "-out", file("ca.pem"));
  for (const [name, cn] of [["server", "127.0.0.1"], ["client", "meshaid-station"]] as const) {
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", `/CN=${cn}`, "-keyout", file(`${name}.key`), "-out", file(`${name}.csr`));
    execFileSync("sh", ["-c", `printf 'subjectAltName=IP:127.0.0.1' > ${file(`${name}.ext`)}`]);
    openssl("x509", "-req", "-in", file(`${name}.csr`), "-CA", file("ca.pem"), "-CAkey", file("ca.key"), "-CAcreateserial", "-days", "2", "-extfile", file(`${name}.ext`), "-out", file(`${name}.pem`));
  }
  return { ca: file("ca.pem"), serverCert: file("server.pem"), serverKey: file("server.key"), clientCert: file("client.pem"), clientKey: file("client.key") };
}

describe("relay over TLS with credentials", () => {
  it("two stations replicate through a Mosquitto that requires a client certificate and a password", async () => {
    const certs = certificates(dir.path);
    const passwords = join(dir.path, "passwd");
    execFileSync("mosquitto_passwd", ["-c", "-b", passwords, "relay", "s3cret"], { stdio: "ignore" });
    // Mosquitto started as root reads its files as the user "mosquitto".
    execFileSync("chmod", ["a+rX", dir.path, passwords, certs.ca, certs.serverCert, certs.serverKey]);
    broker = await Mosquitto.start(dir.path, {
      listener: [`cafile ${certs.ca}`, `certfile ${certs.serverCert}`, `keyfile ${certs.serverKey}`, "require_certificate true", "allow_anonymous false", `password_file ${passwords}`],
    });
    const url = `mqtts://127.0.0.1:${broker.port}`;
    const stations = stationDirs(dir.path, ["north", "south"]);
    const tls = ["--relay-ca", certs.ca, "--relay-cert", certs.clientCert, "--relay-key", certs.clientKey, "--relay-user", "relay", "--relay-password", "s3cret", "--coalition", "tls"];
    for (const name of ["north", "south"]) running.push(spawnMeshaid(["start", "--db", stations.dirOf(name), "--name", name, "--relay", url, ...tls]));

    const vectors = await watchVectors(url, "tls", stations.keyBytes, { ca: readFileSync(certs.ca), cert: readFileSync(certs.clientCert), key: readFileSync(certs.clientKey), username: "relay", password: "s3cret", protocolVersion: 5 });
    try {
      await expect.poll(() => (vectors.held.get("north")?.held["south"] ?? 0) > 0 && (vectors.held.get("south")?.held["north"] ?? 0) > 0, { timeout: 45_000, interval: 500 }).toBe(true);
    } finally {
      await vectors.close();
    }
    // Without the password the broker turns a client away.
    await expect(mqtt.connectAsync(url, { ca: readFileSync(certs.ca), cert: readFileSync(certs.clientCert), key: readFileSync(certs.clientKey), protocolVersion: 5, reconnectPeriod: 0 })).rejects.toThrow();
  });
});
