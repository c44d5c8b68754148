// What a freshly provisioned radio reports in the configure handshake (reference 2.2): the
// factory defaults of firmware 2.7 (NodeDB::installDefaultConfig) with region US, LONG_FAST,
// the default primary channel and serial API enabled.
import type { FromRadioInit, ProtoInit } from "../radio/index.ts";
import { nodeKeys, userOf, type SimNode } from "./node.ts";

export const SIM_FIRMWARE_VERSION = "2.7.26.54e0d8d";
/** DEVICESTATE_CUR_VER in firmware 2.7. */
const DEVICE_STATE_VERSION = 24;
/** MyNodeInfo.min_app_version in firmware 2.7. */
const MIN_APP_VERSION = 30200;
/** Config.PositionConfig.PositionFlags the firmware enables by default (ALTITUDE|ALTITUDE_MSL|SPEED|HEADING|DOP|SATINVIEW). */
const DEFAULT_POSITION_FLAGS = 811;
export const MAX_NUM_CHANNELS = 8;
/** The configured default hop limit (config.lora.hop_limit, factory value 3). */
export const DEFAULT_HOP_LIMIT = 3;

/** Config.LoRaConfig.RegionCode.US and ModemPreset.LONG_FAST. */
const REGION_US = 1;
const PRESET_LONG_FAST = 0;
const CHANNEL_ROLE_PRIMARY = 1;

/** PlatformIO environment names of the boards meshaid supports (MyNodeInfo.pio_env). */
const PIO_ENV: Record<number, string> = {
  4: "tbeam",
  7: "t-echo",
  9: "rak4631",
  31: "station-g2",
  37: "native",
  43: "heltec-v3",
  50: "t-deck",
};
/** ESP32 boards have Wi-Fi; nRF52 boards (T-Echo, RAK4631) do not. */
const HAS_WIFI = new Set([4, 31, 43, 50]);

export function myInfo(node: SimNode, rebootCount: number): FromRadioInit {
  const deviceId = new Uint8Array(16);
  for (let i = 0; i < 16; i++) deviceId[i] = (node.num >>> ((i % 4) * 8)) ^ (i * 0x3b);
  return {
    case: "myInfo",
    value: {
      myNodeNum: node.num,
      rebootCount,
      minAppVersion: MIN_APP_VERSION,
      deviceId,
      pioEnv: PIO_ENV[node.hwModel] ?? "native",
    },
  };
}

export function deviceUiConfig(): FromRadioInit {
  return { case: "deviceuiConfig", value: {} };
}

export function ownNodeInfo(
  node: SimNode,
  nowSeconds: number,
  uptimeSeconds: number,
  air: { channelUtilization: number; airUtilTx: number } = { channelUtilization: 0, airUtilTx: 0 },
): FromRadioInit {
  return {
    case: "nodeInfo",
    value: {
      num: node.num,
      user: userOf(node),
      lastHeard: nowSeconds,
      deviceMetrics: { batteryLevel: 101, voltage: 4.2, uptimeSeconds, channelUtilization: air.channelUtilization, airUtilTx: air.airUtilTx },
      isFavorite: true,
    },
  };
}

export interface HeardInfo {
  /** Seconds since the epoch. */
  lastHeard: number;
  snr: number;
  hopsAway: number;
}

export function otherNodeInfo(node: SimNode, heard: HeardInfo | undefined): FromRadioInit {
  return {
    case: "nodeInfo",
    value: {
      num: node.num,
      user: userOf(node),
      ...(heard ? { lastHeard: heard.lastHeard, snr: heard.snr, hopsAway: heard.hopsAway } : {}),
    },
  };
}

export function metadata(node: SimNode, firmwareVersion: string): FromRadioInit {
  return {
    case: "metadata",
    value: {
      firmwareVersion,
      deviceStateVersion: DEVICE_STATE_VERSION,
      canShutdown: true,
      hasWifi: HAS_WIFI.has(node.hwModel),
      hasBluetooth: true,
      hasEthernet: false,
      role: node.role,
      positionFlags: DEFAULT_POSITION_FLAGS,
      hwModel: node.hwModel,
      hasRemoteHardware: false,
      hasPKC: true,
    },
  };
}

/** Index 0: the default primary channel (empty name = the preset's "LongFast", psk [0x01] = the default key); 1..7 disabled. */
export function channels(): FromRadioInit[] {
  const list: FromRadioInit[] = [
    {
      case: "channel",
      value: {
        index: 0,
        settings: { psk: new Uint8Array([0x01]), moduleSettings: { positionPrecision: 13 } },
        role: CHANNEL_ROLE_PRIMARY,
      },
    },
  ];
  for (let index = 1; index < MAX_NUM_CHANNELS; index++) list.push({ case: "channel", value: { index, settings: {} } });
  return list;
}

/** The 10 Config variants in tag order 1..10. */
export function configs(node: SimNode): FromRadioInit[] {
  const keys = nodeKeys(node.num);
  const variants: Array<[string, ProtoInit]> = [
    ["device", { role: node.role, nodeInfoBroadcastSecs: 10800 }],
    [
      "position",
      {
        positionBroadcastSecs: 900,
        positionBroadcastSmartEnabled: true,
        gpsUpdateInterval: 120,
        positionFlags: DEFAULT_POSITION_FLAGS,
        broadcastSmartMinimumDistance: 100,
        broadcastSmartMinimumIntervalSecs: 30,
        gpsMode: HAS_WIFI.has(node.hwModel) ? 2 : 1,
      },
    ],
    ["power", { lsSecs: 300, minWakeSecs: 10, waitBluetoothSecs: 60 }],
    ["network", { ntpServer: "meshtastic.pool.ntp.org" }],
    ["display", { screenOnSecs: 600 }],
    [
      "lora",
      {
        usePreset: true,
        modemPreset: PRESET_LONG_FAST,
        region: REGION_US,
        hopLimit: DEFAULT_HOP_LIMIT,
        txEnabled: true,
        txPower: 30,
        sx126xRxBoostedGain: true,
      },
    ],
    ["bluetooth", { enabled: true, mode: 0, fixedPin: 123456 }],
    ["security", { publicKey: keys.publicKey, privateKey: keys.privateKey, serialEnabled: true }],
    ["sessionkey", {}],
    ["deviceUi", {}],
  ];
  return variants.map(([variant, value]) => ({ case: "config", value: { payloadVariant: { case: variant, value } } }));
}

/** 16 module configs, as firmware 2.7.26 sends them: the 13 real variants, then 3 empty ones (`4a 00`). */
export function moduleConfigs(): FromRadioInit[] {
  const variants: Array<[string, ProtoInit]> = [
    [
      "mqtt",
      {
        address: "mqtt.meshtastic.org",
        username: "meshdev",
        password: "large4cats",
        encryptionEnabled: true,
        root: "msh",
      },
    ],
    ["serial", {}],
    ["externalNotification", {}],
    ["storeForward", {}],
    ["rangeTest", {}],
    ["telemetry", { deviceUpdateInterval: 1800 }],
    ["cannedMessage", {}],
    ["audio", {}],
    ["remoteHardware", {}],
    ["neighborInfo", {}],
    ["ambientLighting", { current: 10, red: 120, green: 24, blue: 50 }],
    ["detectionSensor", { minimumBroadcastSecs: 45, detectionTriggerType: 1 }],
    ["paxcounter", {}],
  ];
  const list: FromRadioInit[] = variants.map(([variant, value]) => ({
    case: "moduleConfig",
    value: { payloadVariant: { case: variant, value } },
  }));
  for (let i = 0; i < 3; i++) list.push({ case: "moduleConfig", value: {} });
  return list;
}
