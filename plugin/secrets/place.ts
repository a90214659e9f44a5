/**
 * The place an enc:v2 secret is made for: cluster name, group, resource and attribute. It is
 * bound into the AES-GCM associated data as length-prefixed fields, so two different places
 * never encode alike (no separator a name could contain can shift a field boundary).
 */

export interface SecretPlace {
  cluster: string;
  group: string;
  resource: string;
  attribute: string;
}

/** Domain label: an AAD of this scheme can never equal one of another scheme of ours. */
const AAD_LABEL = 'msgha enc:v2 place';

export function placeAad(place: SecretPlace): Buffer {
  const fields = [AAD_LABEL, place.cluster, place.group, place.resource, place.attribute];
  return Buffer.concat(fields.flatMap((field) => {
    const bytes = Buffer.from(field, 'utf8');
    const length = Buffer.alloc(4);
    length.writeUInt32BE(bytes.length);
    return [length, bytes];
  }));
}

/** `group.resource.Attribute`: how `msgha encrypt --for` and every message name a place. */
export function placeName(place: Omit<SecretPlace, 'cluster'>): string {
  return `${place.group}.${place.resource}.${place.attribute}`;
}

/** Parses `group.resource.Attribute` (names hold no dots); undefined when it is not that. */
export function parsePlaceName(text: string): Omit<SecretPlace, 'cluster'> | undefined {
  const parts = text.split('.');
  if (parts.length !== 3 || parts.some((p) => !/^[A-Za-z0-9][A-Za-z0-9_-]*$/.test(p))) return undefined;
  const [group, resource, attribute] = parts as [string, string, string];
  return { group, resource, attribute };
}

/** Why a place cannot bind a secret (an empty field), or undefined. */
export function placeProblem(place: SecretPlace): string | undefined {
  const empty = (['cluster', 'group', 'resource', 'attribute'] as const).filter((k) => typeof place[k] !== 'string' || place[k] === '');
  return empty.length > 0 ? `the place of the secret has no ${empty.join(', ')}` : undefined;
}
