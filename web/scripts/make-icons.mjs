// Draws the app icons (a reef-teal tile with three white waves) as PNG files in public/icons/.
// Run once after changing the design: node scripts/make-icons.mjs. The PNGs are committed.
import { writeFileSync } from "node:fs";
import { deflateSync } from "node:zlib";

const TEAL = [11, 85, 99];
const WHITE = [255, 255, 255];

function crc32(bytes) {
  let crc = ~0;
  for (const byte of bytes) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = (crc >>> 1) ^ (0xedb88320 & -(crc & 1));
  }
  return ~crc >>> 0;
}

function chunk(type, data) {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, "ascii");
  const tail = Buffer.alloc(4);
  tail.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
  return Buffer.concat([head, data, tail]);
}

function png(size, pixel) {
  const rows = Buffer.alloc(size * (size * 4 + 1));
  for (let y = 0; y < size; y++) {
    rows[y * (size * 4 + 1)] = 0;
    for (let x = 0; x < size; x++) {
      const [r, g, b, a] = pixel(x / size, y / size);
      rows.set([r, g, b, a], y * (size * 4 + 1) + 1 + x * 4);
    }
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(size, 0);
  header.writeUInt32BE(size, 4);
  header.set([8, 6, 0, 0, 0], 8);
  const signature = Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]);
  return Buffer.concat([signature, chunk("IHDR", header), chunk("IDAT", deflateSync(rows)), chunk("IEND", Buffer.alloc(0))]);
}

// Waves inside `scale` of the tile (a maskable icon keeps its content in the central 80 %).
function icon(scale, rounded) {
  return (u, v) => {
    if (rounded) {
      const r = 0.18;
      const dx = Math.max(r - u, u - (1 - r), 0);
      const dy = Math.max(r - v, v - (1 - r), 0);
      if (dx * dx + dy * dy > r * r) return [0, 0, 0, 0];
    }
    const x = (u - 0.5) / scale + 0.5;
    const y = (v - 0.5) / scale + 0.5;
    for (const base of [0.32, 0.5, 0.68]) {
      const wave = base + 0.05 * Math.sin(x * Math.PI * 4);
      if (x > 0.12 && x < 0.88 && Math.abs(y - wave) < 0.045) return [...WHITE, 255];
    }
    return [...TEAL, 255];
  };
}

for (const size of [192, 512]) {
  writeFileSync(`public/icons/icon-${size}.png`, png(size, icon(1, true)));
  writeFileSync(`public/icons/maskable-${size}.png`, png(size, icon(0.75, false)));
}
