package pipeline

import (
	"bufio"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
)

// Duplicates in streaming mode. Each row leaves one 64-bit entry: the top
// dupFragBits bits of a fingerprint of its values (below the bits that
// name its partition) and its byte offset in the source. Equal rows have
// equal fingerprints, so a row whose fingerprint is unique is distinct from
// every other row; the few rows that share one (the duplicates, and rare
// fingerprint collisions) are read again from the source at their offsets
// and compared by value. The count is therefore exact and, as every step
// is independent of how the rows were split, the same for any worker count
// and chunk size.
const (
	dupPartBits = 8
	dupNParts   = 1 << dupPartBits
	dupOffBits  = 38 // sources up to 256 GiB; larger ones use rows mode
	dupFragBits = 64 - dupOffBits
	maxDupBlock = 1024
	// maxStreamSize is the largest source streaming mode takes.
	maxStreamSize = 1 << dupOffBits
)

// dupParts files the entries of one worker under partitions, in blocks
// (no doubling, so no copies and little slack).
type dupParts struct {
	cur    [dupNParts][]uint64
	blocks [dupNParts][][]uint64
}

func (d *dupParts) add(fp uint64, off int64) {
	p := fp >> (64 - dupPartBits)
	e := (fp<<dupPartBits)&^(1<<dupOffBits-1) | uint64(off)
	c := d.cur[p]
	if len(c) == cap(c) {
		if cap(c) > 0 {
			d.blocks[p] = append(d.blocks[p], c)
		}
		c = make([]uint64, 0, min(max(2*cap(c), 32), maxDupBlock))
	}
	d.cur[p] = append(c, e)
}

func (d *dupParts) count(p int) int {
	n := len(d.cur[p])
	for _, b := range d.blocks[p] {
		n += len(b)
	}
	return n
}

func (d *dupParts) each(p int, fn func(e uint64)) {
	for _, b := range d.blocks[p] {
		for _, e := range b {
			fn(e)
		}
	}
	for _, e := range d.cur[p] {
		fn(e)
	}
}

// Fingerprint parts of null values (any fixed numbers do).
const (
	nullProdHash = 0x6E756C6C70726F64
	nullCustHash = 0x6E756C6C63757374
)

// rowFingerprint mixes a row's values: date, amount key (amountKey's
// folding), and hashes of the product and customer ids' bytes, so that it
// does not depend on dictionary codes (which differ between workers).
func rowFingerprint(date int32, amt uint64, prodH, custH uint64) uint64 {
	h := (uint64(uint32(date)) ^ prodH) * 0x9E3779B97F4A7C15
	h ^= (custH ^ h>>32) * 0xD6E8FEB86659FD93
	h ^= (amt ^ h>>29) * 0xBF58476D1CE4E5B9
	h ^= h >> 31
	h *= 0x94D049BB133111EB
	return h ^ h>>29
}

func amountBits(v float64) uint64 {
	if v == 0 {
		return 0
	}
	return math.Float64bits(v)
}

// countStreamDuplicates counts the rows equal to an earlier row in
// streaming mode: rows minus distinct rows.
func (r *RawSales) countStreamDuplicates() (int64, error) {
	offs := dupCandidates(r.agg.dups, r.scanners())
	if len(offs) == 0 {
		return 0, nil
	}
	distinct, err := r.distinctRowsAt(offs)
	if err != nil {
		return 0, err
	}
	return int64(len(offs) - distinct), nil
}

// dupCandidates returns, sorted, the offsets of the entries whose
// fingerprint (partition and fragment) occurs more than once.
//
// A partition's entries are first spread by the next dupSubBits bits of
// their fragment into sub-buckets of about a thousand entries each (a
// counting sort), so that the table that finds repeated fragments stays
// in the L1 cache; a partition too large for the scratch space (an input
// of mostly duplicates) uses one hash set instead.
func dupCandidates(parts []*dupParts, workers int) []int64 {
	cands := make([][]int64, dupNParts)
	scratch := make([]dupScratch, workers)
	parallelFor(dupNParts, workers, func(w, p int) {
		n := 0
		for _, d := range parts {
			n += d.count(p)
		}
		switch {
		case n < 2:
		case n > maxDupScratch:
			cands[p] = dupCandidatesSet(parts, p, n)
		default:
			cands[p] = scratch[w].candidates(parts, p, n)
		}
	})
	var offs []int64
	for _, c := range cands {
		offs = append(offs, c...)
	}
	slices.Sort(offs)
	return offs
}

const (
	dupSubBits    = 4
	maxDupScratch = 1 << 20 // entries of one partition (8 MiB of scratch)
)

// dupScratch is one scanner's working space for dupCandidates.
type dupScratch struct {
	ents  []uint64
	table []uint32
	rep   []uint32
}

// fragKey is an entry's fragment as a table key: never 0, with bit 31 free
// to mark a key seen more than once.
func fragKey(e uint64) uint32 { return uint32(e>>dupOffBits) | 1<<30 }

const dupRepeated = 1 << 31

func (sc *dupScratch) candidates(parts []*dupParts, p, n int) []int64 {
	const subShift = 64 - dupSubBits
	var start [1<<dupSubBits + 1]int
	for _, d := range parts {
		for _, b := range d.blocks[p] {
			for _, e := range b {
				start[e>>subShift+1]++
			}
		}
		for _, e := range d.cur[p] {
			start[e>>subShift+1]++
		}
	}
	for i := 1; i < len(start); i++ {
		start[i] += start[i-1]
	}
	pos := start
	sc.ents = slices.Grow(sc.ents[:0], n)[:n]
	ents := sc.ents
	for _, d := range parts {
		for _, b := range d.blocks[p] {
			for _, e := range b {
				k := e >> subShift
				ents[pos[k]] = e
				pos[k]++
			}
		}
		for _, e := range d.cur[p] {
			k := e >> subShift
			ents[pos[k]] = e
			pos[k]++
		}
	}
	var out []int64
	for sb := range 1 << dupSubBits {
		seg := ents[start[sb]:start[sb+1]]
		if len(seg) < 2 {
			continue
		}
		size, shift := 16, uint(32-4)
		for size < 2*len(seg) {
			size, shift = size*2, shift-1
		}
		if cap(sc.table) < size {
			sc.table = make([]uint32, size)
		}
		table := sc.table[:size]
		clear(table)
		mask := uint32(size - 1)
		rep := sc.rep[:0]
		for _, e := range seg {
			k := fragKey(e)
			for i := (k * 0x9E3779B1) >> shift; ; i = (i + 1) & mask {
				t := table[i]
				if t == 0 {
					table[i] = k
					break
				}
				if t&^dupRepeated == k {
					if t&dupRepeated == 0 {
						table[i] = t | dupRepeated
						rep = append(rep, k)
					}
					break
				}
			}
		}
		sc.rep = rep
		switch {
		case len(rep) == 0:
		case len(rep) <= 4:
			for _, e := range seg {
				if slices.Contains(rep, fragKey(e)) {
					out = append(out, int64(e&(1<<dupOffBits-1)))
				}
			}
		default:
			for _, e := range seg {
				k := fragKey(e)
				for i := (k * 0x9E3779B1) >> shift; ; i = (i + 1) & mask {
					if t := table[i]; t&^dupRepeated == k {
						if t&dupRepeated != 0 {
							out = append(out, int64(e&(1<<dupOffBits-1)))
						}
						break
					}
				}
			}
		}
	}
	return out
}

// dupCandidatesSet is candidates for a partition of n entries with one
// hash set (a partition of mostly equal rows holds few distinct keys).
func dupCandidatesSet(parts []*dupParts, p, n int) []int64 {
	seen := newU64Set(16)
	seen.random = true // fingerprint bits
	var rep *u64set
	for _, d := range parts {
		d.each(p, func(e uint64) {
			if !seen.insert(e>>dupOffBits | 1<<63) { // never 0
				if rep == nil {
					rep = newU64Set(16)
				}
				rep.add(e>>dupOffBits | 1<<63)
			}
		})
	}
	if rep == nil {
		return nil
	}
	var out []int64
	for _, d := range parts {
		d.each(p, func(e uint64) {
			if rep.has(e>>dupOffBits | 1<<63) {
				out = append(out, int64(e&(1<<dupOffBits-1)))
			}
		})
	}
	return out
}

// distinctRowsAt reads the records at the given offsets (sorted) from the
// source again and counts their distinct values. A multi-file input's
// offsets run over its files' CSV bytes one after the other (fileBase).
func (r *RawSales) distinctRowsAt(offs []int64) (int, error) {
	keys := make(map[string]struct{}, len(offs))
	for k := 0; len(offs) > 0; k++ {
		n := len(offs)
		var base int64
		if r.fileBase != nil {
			if k >= len(r.fileBase) {
				return 0, fmt.Errorf("duplicates: offset %d past the input", offs[0]) // a bug
			}
			base = r.fileBase[k]
			if k+1 < len(r.fileBase) {
				n, _ = slices.BinarySearch(offs, r.fileBase[k+1])
			}
		}
		if n == 0 {
			continue
		}
		if err := r.rowKeysAt(k, base, offs[:n], keys); err != nil {
			return 0, err
		}
		offs = offs[n:]
	}
	return len(keys), nil
}

// rowKeysAt adds to keys the values of the records at offs (minus base)
// in file k of the source (0 for a single file).
func (r *RawSales) rowKeysAt(k int, base int64, offs []int64, keys map[string]struct{}) error {
	src, lay := r.src, r.lay
	if r.parts != nil {
		src, lay = r.parts[k], r.fileLays[k]
	}
	name := cmp.Or(src.Name, r.name)
	rc, err := src.Open()
	if err != nil {
		return fmt.Errorf("input %s: cannot be opened again to compare rows: %w", name, err)
	}
	defer rc.Close()
	if err := r.sameFile(k, rc); err != nil {
		return err
	}
	data, _, done, err := decompress(rc, src)
	if err != nil {
		return err
	}
	if done != nil {
		defer done()
	}
	rr := &recordReader{r: data, br: bufio.NewReaderSize(data, recordBuf)}
	if s, ok := rc.(io.Seeker); ok && !src.Gzip && !src.Zstd {
		rr.seek = s
	}
	p := newParser(lay, false, 0)
	var key []byte
	buf := make([]byte, 0, 256)
	for _, off := range offs {
		rec, err := rr.recordAt(off-base, buf[:0])
		if err != nil {
			return fmt.Errorf("reading %s again to compare rows: %w", name, err)
		}
		buf = rec
		var res chunkResult
		rec = append(rec, '\n')
		rec = append(rec, make([]byte, pad)...)
		p.parse(rec, 0, len(rec)-pad, 1, &res)
		if res.fatal != nil || res.seg.len() != 1 {
			return fmt.Errorf("%w: %s (a row read again differs)", ErrInputChanged, name)
		}
		key = p.rowKey(key[:0], &res.seg)
		keys[string(key)] = struct{}{}
	}
	return r.sameFile(k, rc)
}

// shift adds base to the offset of every entry (offsets within a file
// become offsets in the files one after the other).
func (d *dupParts) shift(base int64) {
	for p := range d.cur {
		for _, b := range d.blocks[p] {
			for i := range b {
				b[i] += uint64(base)
			}
		}
		c := d.cur[p]
		for i := range c {
			c[i] += uint64(base)
		}
	}
}

// rowKey appends the values of the segment's only row, comparable as
// bytes: equal keys are equal rows.
func (p *parser) rowKey(b []byte, s *segment) []byte {
	b = binary.LittleEndian.AppendUint32(b, uint32(s.dates[0]))
	b = binary.LittleEndian.AppendUint64(b, s.amountKey(0))
	if c := s.prods[0]; c == nullCode {
		b = append(b, 0)
	} else {
		id := p.prods.get(c)
		b = append(b, 1)
		b = binary.AppendUvarint(b, uint64(len(id)))
		b = append(b, id...)
	}
	switch c := s.custs[0]; {
	case c == nullCust:
		b = append(b, 0)
	case c&longID != 0:
		id := p.custs.get(uint32(c &^ longID))
		b = append(b, 1)
		b = binary.AppendUvarint(b, uint64(len(id)))
		b = append(b, id...)
	default:
		var tmp [8]byte
		id := idBytes(tmp[:0], c)
		b = append(b, 1)
		b = binary.AppendUvarint(b, uint64(len(id)))
		b = append(b, id...)
	}
	return b
}

// recordBuf is the read buffer of a recordReader (a longer record is read
// in several pieces).
const recordBuf = 8 << 10

// recordReader reads records at increasing offsets of a source.
type recordReader struct {
	r    io.Reader
	br   *bufio.Reader
	seek io.Seeker
	pos  int64
}

// recordAt appends to b the record (without its line ending) that starts
// at off.
func (rr *recordReader) recordAt(off int64, b []byte) ([]byte, error) {
	if off < rr.pos {
		return nil, errors.New("offsets out of order")
	}
	if gap := off - rr.pos; gap > 0 {
		// Rows to compare are few and far apart: past what is buffered,
		// a gap of more than a buffer is skipped with a seek, not read.
		if rr.seek != nil && gap > int64(rr.br.Buffered()+recordBuf) {
			if _, err := rr.seek.Seek(off, io.SeekStart); err != nil {
				return nil, err
			}
			rr.br.Reset(rr.r)
		} else if _, err := rr.br.Discard(int(gap)); err != nil {
			return nil, unexpectedEOF(err)
		}
		rr.pos = off
	}
	for {
		line, err := rr.br.ReadSlice('\n')
		b = append(b, line...)
		rr.pos += int64(len(line))
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			if errors.Is(err, io.EOF) {
				break
			}
			return nil, err
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		// A complete line: the record ends here unless a quoted field
		// is still open.
		if t := tokenize(b, 0, nil, nil, nil, 0); !t.unterminated {
			break
		}
	}
	t := tokenize(b, 0, nil, nil, nil, 0)
	return b[:t.end], nil
}

func unexpectedEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}
