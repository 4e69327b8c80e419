//! A reader that repeats one file's lines until a row count is reached, streamed from one copy in memory.

use std::io::Read;

/// Streams `copies` back-to-back copies of `lines` (which ends with a line feed), so a million-row input
/// costs one small file's memory.
pub(super) struct RepeatedRows {
    lines: Vec<u8>,
    copies_left: u64,
    offset: usize,
}

impl RepeatedRows {
    /// Enough copies of `file` for at least `target_rows` rows. Returns the reader and its total row count.
    pub(super) fn new(mut file: Vec<u8>, target_rows: u64) -> Option<(Self, u64)> {
        if !file.ends_with(b"\n") {
            file.push(b'\n');
        }
        let rows_per_copy = file.iter().filter(|b| **b == b'\n').count() as u64;
        if rows_per_copy == 0 || file.len() <= 1 {
            return None;
        }
        let copies = target_rows.div_ceil(rows_per_copy).max(1);
        Some((
            Self {
                lines: file,
                copies_left: copies,
                offset: 0,
            },
            copies * rows_per_copy,
        ))
    }

    /// Bytes the whole stream will yield.
    pub(super) fn total_bytes(&self) -> u64 {
        self.lines.len() as u64 * self.copies_left
    }
}

impl Read for RepeatedRows {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.copies_left == 0 || buf.is_empty() {
            return Ok(0);
        }
        let rest = &self.lines[self.offset..];
        let n = rest.len().min(buf.len());
        buf[..n].copy_from_slice(&rest[..n]);
        self.offset += n;
        if self.offset == self.lines.len() {
            self.offset = 0;
            self.copies_left -= 1;
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeats_whole_lines_up_to_the_target() {
        let (mut reader, rows) = RepeatedRows::new(b"a,1\nb,2".to_vec(), 5).expect("rows");
        assert_eq!(rows, 6);
        assert_eq!(reader.total_bytes(), 24);
        let mut out = String::new();
        reader.read_to_string(&mut out).expect("in memory");
        assert_eq!(out, "a,1\nb,2\n".repeat(3));
    }

    #[test]
    fn an_empty_file_has_no_rows() {
        assert!(RepeatedRows::new(Vec::new(), 10).is_none());
    }
}
