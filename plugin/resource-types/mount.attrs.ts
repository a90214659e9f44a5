/** Attributes of the shared-disk mount type, declared once. */
import type { AttrDecl } from '../model/attributes';

export const MOUNT_ATTRIBUTES: readonly AttrDecl[] = [
  { name: 'BlockDevice', kind: 'path', required: true, example: '/dev/mapper/mailvg-mail', doc: 'Device (or disk image) to mount.' },
  { name: 'MountPoint', kind: 'path', required: true, example: '/sunone', doc: 'Directory to mount it on.' },
  { name: 'FSType', kind: 'string', required: true, example: 'ext4', doc: 'File-system type.' },
  { name: 'MountOpt', kind: 'string', example: 'noatime', doc: 'Mount options (comma-separated).' },
  { name: 'FsckOpt', kind: 'string', example: '-p', doc: 'Run fsck with these options before mounting (unset = no fsck).' },
  { name: 'StatusFile', kind: 'bool', default: false,
    doc: 'Monitor also writes and reads back a status file on the mounted disk.' },
  { name: 'EpochMarker', kind: 'bool', default: true,
    doc: 'Check and write the fencing marker .cluster-epoch on the volume: a newer epoch there means another node took the group over, so mounting is refused.' },
];
