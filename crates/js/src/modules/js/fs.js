// k6/experimental/fs: files opened in the init context, read asynchronously.
import n from 'stampede:native/k6/experimental/fs';

export const SeekMode = Object.freeze({ Start: 0, Current: 1, End: 2 });

// Where k6/experimental/csv finds a File's path and position.
const FILE = Symbol.for('stampede.fs.file');

function fsError(name, message) {
  const e = new Error(message);
  e.name = name;
  return e;
}

function typeError(message) {
  return new TypeError(message);
}

class File {
  constructor(info) {
    const state = { handle: info.handle, size: info.size, name: info.name, offset: 0 };
    Object.defineProperty(this, FILE, { value: state });
    this.path = info.path;
  }

  async stat() {
    const s = this[FILE];
    return { name: s.name, size: s.size };
  }

  async read(into) {
    if (into === undefined || into === null) {
      throw typeError('read() failed; reason: into argument cannot be null or undefined');
    }
    if (!(into instanceof Uint8Array)) {
      throw typeError('read() failed; reason: into argument must be a Uint8Array');
    }
    const s = this[FILE];
    if (s.offset >= s.size) return null;
    if (into.length === 0) return 0;
    const chunk = new Uint8Array(n.read(s.handle, s.offset, into.length));
    into.set(chunk);
    s.offset += chunk.length;
    return chunk.length;
  }

  async seek(offset, whence = SeekMode.Start) {
    if (typeof offset !== 'number' || !Number.isFinite(offset)) {
      throw typeError('seek() failed; reason: the offset argument must be a number');
    }
    const s = this[FILE];
    let next;
    switch (whence) {
      case SeekMode.Start:
        if (offset < 0) throw typeError('offset cannot be negative when using SeekModeStart');
        next = offset;
        break;
      case SeekMode.Current: next = s.offset + offset; break;
      case SeekMode.End:
        if (offset > 0) throw typeError('offset cannot be positive when using SeekModeEnd');
        // As k6: from the last byte, not from the end.
        next = s.size - 1 + offset;
        break;
      default:
        throw typeError('seek() failed; reason: the whence argument must be a SeekMode');
    }
    if (next < 0) throw typeError('seeking before start of file');
    if (next > s.size) throw typeError('seeking beyond end of file');
    s.offset = Math.trunc(next);
    return s.offset;
  }
}

export async function open(path) {
  if (path === undefined || path === null || path === '') {
    throw typeError('open() failed; reason: path cannot be empty');
  }
  const info = n.open(String(path));
  if (info.error) throw fsError(info.error, info.message);
  return new File(info);
}

export default { open, SeekMode };
