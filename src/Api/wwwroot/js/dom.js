// Builds elements from data without innerHTML, so nothing the server returns is ever parsed as markup.
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === 'class') node.className = value;
    else if (name.startsWith('on')) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? '' : value);
  }
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

export const $ = (id) => document.getElementById(id);

/**
 * Free text from the server (a reason, a name, an id), isolated from the text around it (HTML's <bdi>, Unicode's
 * bidirectional isolate): whatever direction marks or overrides it holds stay inside it and cannot reorder the page's words.
 */
export const bdi = (text) => el('bdi', {}, text);

export function when(iso) {
  return iso ? new Date(iso).toLocaleString() : '';
}
