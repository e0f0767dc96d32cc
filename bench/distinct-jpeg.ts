/**
 * The bulk benches' covers: one JPEG made distinct per cover (so each is a blob of its own) by a comment segment
 * (COM, 0xFFFE) carrying `text`, right after the start-of-image marker. Decoders skip comments, so every copy is the
 * same picture at almost the same size.
 */
export function distinctJpeg(base: Buffer, text: string): Buffer {
  const comment = Buffer.from(text);
  const segment = Buffer.alloc(4);
  segment.writeUInt16BE(0xfffe, 0);
  segment.writeUInt16BE(comment.length + 2, 2);
  return Buffer.concat([base.subarray(0, 2), segment, comment, base.subarray(2)]);
}
