// A stand-in group service for the cluster tests: appends "<node> <epoch> <CLOCK_MONOTONIC ms>"
// to its ticks file every 10 ms, so a checker can prove from one clock that no two nodes served
// at the same instant. Usage: node tick-service.cjs NODE EPOCH TICKSFILE
const fs = require('node:fs');
const [node, epoch, file] = process.argv.slice(2);
const mono = () => Number(process.hrtime.bigint()) / 1e6;
fs.writeFileSync(`${file}.pid.${process.pid}`, '');
setInterval(() => fs.appendFileSync(file, `${node} ${epoch} ${mono().toFixed(1)}\n`), 10);
