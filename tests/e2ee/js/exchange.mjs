// Drives one matrix-js-sdk client with its Rust crypto (WebAssembly) against the test
// homeserver: start-up checks, cross-signing bootstrap, then an encrypted exchange in a
// room shared with a matrix-nio user that the Python test drives.
//
// Input: environment variables BASE_URL, USER_ID, ACCESS_TOKEN, DEVICE_ID, PASSWORD,
// ROOM_ID, PEER_TEXT (the text the peer sends) and OWN_TEXT (the text to send).
// Output: one JSON object per line on stdout ({"step": ...}); the exit code is 0 only
// when every step passed.

import * as sdk from "matrix-js-sdk";
import { logger } from "matrix-js-sdk/lib/logger.js";

logger.setLevel("warn");

const env = process.env;
const TIMEOUT_MS = 90_000;

function report(step, details = {}) {
    process.stdout.write(JSON.stringify({ step, ...details }) + "\n");
}

function fail(message) {
    report("failed", { error: message });
    process.exit(1);
}

setTimeout(() => fail("timed out"), TIMEOUT_MS).unref();

async function rawRequest(method, path, body) {
    const response = await fetch(env.BASE_URL + "/_matrix/client/v3" + path, {
        method,
        headers: {
            Authorization: `Bearer ${env.ACCESS_TOKEN}`,
            "Content-Type": "application/json",
        },
        body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: response.status, body: await response.json() };
}

async function waitFor(predicate, what) {
    const deadline = Date.now() + TIMEOUT_MS;
    while (Date.now() < deadline) {
        if (await predicate()) return;
        await new Promise((resolve) => setTimeout(resolve, 200));
    }
    fail(`timed out waiting for ${what}`);
}

const client = sdk.createClient({
    baseUrl: env.BASE_URL,
    userId: env.USER_ID,
    accessToken: env.ACCESS_TOKEN,
    deviceId: env.DEVICE_ID,
});
await client.initRustCrypto({ useIndexedDB: false });
const crypto = client.getCrypto();

// Start-up: no backup exists yet, which the server reports as M_NOT_FOUND.
const backup = await rawRequest("GET", "/room_keys/version");
if (backup.status !== 404 || backup.body.errcode !== "M_NOT_FOUND") {
    fail(`GET /room_keys/version returned ${backup.status} ${JSON.stringify(backup.body)}`);
}
const backupCheck = await crypto.checkKeyBackupAndEnable();
report("backup_checked", { backupInfo: backupCheck ? backupCheck.backupInfo : null });

const decrypted = [];
client.on(sdk.MatrixEventEvent.Decrypted, (event) => {
    if (event.getType() === "m.room.message" && !event.isDecryptionFailure()) {
        decrypted.push(event.getContent().body);
    }
});

const prepared = new Promise((resolve) => {
    client.on(sdk.ClientEvent.Sync, (state) => {
        if (state === "PREPARED") resolve();
    });
});
await client.startClient({ initialSyncLimit: 20 });
await prepared;

// The device keys must be on the server before the peer sees this user join.
await waitFor(async () => {
    const keys = await rawRequest("POST", "/keys/query", {
        device_keys: { [env.USER_ID]: [] },
    });
    return Boolean(keys.body.device_keys?.[env.USER_ID]?.[env.DEVICE_ID]);
}, "own device keys on the server");
report("keys_uploaded");

await crypto.bootstrapCrossSigning({
    authUploadDeviceSigningKeys: async (makeRequest) => {
        try {
            await makeRequest(null);
        } catch (error) {
            if (error.httpStatus !== 401) throw error;
            await makeRequest({
                type: "m.login.password",
                identifier: { type: "m.id.user", user: env.USER_ID },
                password: env.PASSWORD,
                session: error.data?.session,
            });
        }
    },
});
const status = await crypto.getCrossSigningStatus();
if (!status.publicKeysOnDevice || !(await crypto.isCrossSigningReady())) {
    fail(`cross-signing not ready: ${JSON.stringify(status)}`);
}
report("cross_signing_ready");

await client.joinRoom(env.ROOM_ID);
await waitFor(async () => client.getRoom(env.ROOM_ID) !== null, "the joined room");
await waitFor(() => crypto.isEncryptionEnabledInRoom(env.ROOM_ID), "room encryption");
report("joined");

await client.sendTextMessage(env.ROOM_ID, env.OWN_TEXT);
report("sent");

await waitFor(async () => decrypted.includes(env.PEER_TEXT), "the peer's message");
report("decrypted", { body: env.PEER_TEXT });

client.stopClient();
process.exit(0);
