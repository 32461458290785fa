/**
 * Reads HTML pages in tests through parse5, the parser that follows the HTML standard, so a
 * check finds the elements a browser would build and not what a regular expression matches.
 */
import { parse, type DefaultTreeAdapterTypes } from 'parse5';

export type Element = DefaultTreeAdapterTypes.Element;
type Node = DefaultTreeAdapterTypes.Node;

function isElement(node: Node): node is Element {
  return 'tagName' in node;
}

function children(node: Node): Node[] {
  return 'childNodes' in node ? node.childNodes : [];
}

/** Parses a whole page. */
export function parsePage(html: string): Element {
  const document = parse(html);
  const root = document.childNodes.find(isElement);
  if (!root) throw new Error('the page has no root element');
  return root;
}

/**
 * Returns the rendering mode that a browser picks for a page. A page gets `no-quirks` (standards
 * mode) only with a doctype such as `<!DOCTYPE html>`, and `quirks` without one.
 */
export function documentMode(html: string): string {
  return parse(html).mode;
}

/**
 * Returns every element under `root`, in document order, that matches `test`. The contents of a
 * `<template>` are left out, as a browser leaves them out of the page, unless `inTemplates` is set.
 */
export function findAll(root: Node, test: (element: Element) => boolean, inTemplates = false): Element[] {
  const found: Element[] = [];
  const visit = (node: Node) => {
    if (isElement(node)) {
      if (test(node)) found.push(node);
      if (node.tagName === 'template' && inTemplates) {
        visit((node as DefaultTreeAdapterTypes.Template).content);
      }
    }
    for (const child of children(node)) visit(child);
  };
  visit(root);
  return found;
}

/** Returns the elements with this tag name. */
export function byTag(root: Node, tagName: string, inTemplates = false): Element[] {
  return findAll(root, (element) => element.tagName === tagName, inTemplates);
}

/** Returns the element with this id; raises an error naming the id when there is none. */
export function byId(root: Node, id: string): Element {
  const [found] = findAll(root, (element) => attribute(element, 'id') === id);
  if (!found) throw new Error(`no element with id "${id}"`);
  return found;
}

export function attribute(element: Element, name: string): string | undefined {
  return element.attrs.find((attr) => attr.name === name)?.value;
}

/** Returns the text of a node and its descendants, with runs of white space made one space. */
export function textOf(node: Node): string {
  const parts: string[] = [];
  const visit = (current: Node) => {
    if (current.nodeName === '#text') parts.push((current as DefaultTreeAdapterTypes.TextNode).value);
    for (const child of children(current)) visit(child);
  };
  visit(node);
  return parts.join('').replace(/\s+/g, ' ').trim();
}

/** Input types that take no label, because they are hidden or carry their own text. */
const SELF_LABELLED_INPUTS = new Set(['hidden', 'submit', 'button', 'reset']);

/**
 * Returns a description of each form control that has no accessible name: no `<label for>` with
 * its id, no enclosing `<label>`, and no `aria-label` or `aria-labelledby`.
 */
export function unlabelledControls(root: Element): string[] {
  const labelled = new Set(
    byTag(root, 'label')
      .map((label) => attribute(label, 'for'))
      .filter(Boolean),
  );
  const insideLabel = new Set(byTag(root, 'label').flatMap((label) => findAll(label, () => true)));
  const controls = findAll(root, (element) => {
    if (element.tagName === 'select' || element.tagName === 'textarea') return true;
    return element.tagName === 'input' && !SELF_LABELLED_INPUTS.has(attribute(element, 'type') ?? 'text');
  });
  return controls
    .filter((control) => {
      const id = attribute(control, 'id');
      if (id && labelled.has(id)) return false;
      if (insideLabel.has(control)) return false;
      return !attribute(control, 'aria-label') && !attribute(control, 'aria-labelledby');
    })
    .map((control) => `<${control.tagName} id="${attribute(control, 'id') ?? ''}">`);
}
