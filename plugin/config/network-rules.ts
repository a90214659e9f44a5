/**
 * Rules on a group's network: a virtual address (IP) whose link no NIC resource of the same
 * group watches. Without one, a cut cable or a dead switch port leaves the group where its
 * clients cannot reach it (docs/network.md). The NIC must name the same Device in the same
 * network namespace (ContainerName, unset = the node's own). A cluster of one node has nowhere
 * to move a group to: no warning there.
 */
import { str, type CheckedResource, type Report } from '../model/check-context';

/** The link a resource sits on: device and namespace ('' = the node's own). */
const linkKey = (r: CheckedResource): string | undefined => {
  const device = str(r.attrs.Device);
  return device === undefined ? undefined : `${device}\0${str(r.attrs.ContainerName) ?? ''}`;
};

export function checkLinks(report: Report, all: readonly CheckedResource[], singleNode: boolean): void {
  if (singleNode) return;
  const watched = new Set(all.filter((r) => r.type.name === 'NIC').map((r) => `${r.group}\0${linkKey(r)}`));
  for (const r of all) {
    if (r.type.name !== 'IP') continue;
    const key = linkKey(r);
    if (key === undefined || watched.has(`${r.group}\0${key}`)) continue;
    const device = str(r.attrs.Device)!;
    const ns = str(r.attrs.ContainerName);
    const where = ns ? `${device} in network namespace ${ns}` : device;
    report.warn(r.where, 'Device', `group ${r.group} has no NIC resource on ${where}, the device of IP resource ${r.name}: a dead link (cut cable, switch port down) would leave the group where its clients cannot reach it`,
      `add a NIC resource on that device to group ${r.group}, e.g. link: { type: 'NIC', Device: '${device}'${ns ? `, ContainerName: '${ns}'` : ''} }, so a dead link moves the group; see docs/network.md`);
  }
}
