/** Docker's image reference grammar, checked before a stack is accepted. */

// Docker's reference grammar: [registry[:port]/]path[:tag][@digest], with lower-case path
// components. Docker rejects anything else when it creates the container.
const DOMAIN_PART = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const PATH_PART = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const IMAGE_REFERENCE = new RegExp(
  `^(?:${DOMAIN_PART}(?:\\.${DOMAIN_PART})*(?::[0-9]+)?/)?${PATH_PART}(?:/${PATH_PART})*` +
    '(?::[\\w][\\w.-]{0,127})?' +
    '(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?$',
);

/** Reports whether `image` follows Docker's image reference grammar, at most 255 characters before a tag. */
export function isImageReference(image: string): boolean {
  const name = image.split(/[:@]/)[0] ?? '';
  return image.length <= 512 && name.length <= 255 && IMAGE_REFERENCE.test(image);
}
