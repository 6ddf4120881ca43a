package pipeline

import (
	"bytes"
	"encoding/binary"
)

// dict interns byte strings to dense uint32 codes (0, 1, 2, ... in order of
// insertion). Product and customer ids are stored as codes: four bytes per
// row, compared as integers, and each distinct id is kept once.
//
// The table is open addressing with linear probing. Each slot keeps the
// first eight bytes of its key and the key's length, so ids of up to eight
// bytes (the common case) are matched without touching the arena.
type dict struct {
	arena []byte
	offs  []int // offs[c] is where code c starts; offs[len] = len(arena)
	table []dictSlot
	shift uint // 64 - log2(len(table))
}

type dictSlot struct {
	w    uint64 // first eight bytes of the key, zero padded
	n    uint32 // key length
	code uint32 // code + 1; 0 marks an empty slot
}

const dictHashMul = 0x9E3779B97F4A7C15

func newDict() *dict {
	d := &dict{offs: []int{0}}
	d.resize(1 << 10)
	return d
}

// len returns the number of distinct keys.
func (d *dict) len() int { return len(d.offs) - 1 }

// get returns the key of code c.
func (d *dict) get(c uint32) []byte { return d.arena[d.offs[c]:d.offs[c+1]] }

// word returns the first eight bytes of b, zero padded.
func word(b []byte) uint64 {
	if len(b) >= 8 {
		return binary.LittleEndian.Uint64(b)
	}
	var w uint64
	for i := len(b) - 1; i >= 0; i-- {
		w = w<<8 | uint64(b[i])
	}
	return w
}

// dictHash hashes a key whose first eight bytes (zero padded) are w. The
// index is taken from the top bits of the product (Fibonacci hashing),
// which depend on every bit of the key.
func dictHash(b []byte, w uint64) uint64 {
	h := (w + uint64(len(b))) * dictHashMul
	for i := 8; i < len(b); i += 8 {
		h = (h ^ h>>29 ^ word(b[i:])) * dictHashMul
	}
	return h
}

// intern returns the code of b, adding it when new; w must be word(b).
func (d *dict) intern(b []byte, w uint64) uint32 {
	return d.internHash(b, w, dictHash(b, w))
}

// internHash is intern with h = dictHash(b, w) computed by the caller.
func (d *dict) internHash(b []byte, w, h uint64) uint32 {
	i := h >> d.shift
	mask := uint64(len(d.table) - 1)
	n := uint32(len(b))
	for {
		s := &d.table[i]
		if s.code == 0 {
			return d.insert(s, b, w)
		}
		if s.w == w && s.n == n && (n <= 8 || bytes.Equal(d.get(s.code-1), b)) {
			return s.code - 1
		}
		i = (i + 1) & mask
	}
}

func (d *dict) insert(s *dictSlot, b []byte, w uint64) uint32 {
	c := uint32(d.len())
	d.arena = append(d.arena, b...)
	d.offs = append(d.offs, len(d.arena))
	*s = dictSlot{w: w, n: uint32(len(b)), code: c + 1}
	if 2*d.len() > len(d.table) {
		d.resize(2 * len(d.table))
	}
	return c
}

func (d *dict) resize(size int) {
	d.table = make([]dictSlot, size)
	d.shift = 64
	for s := size; s > 1; s >>= 1 {
		d.shift--
	}
	mask := uint64(size - 1)
	for c := 0; c < d.len(); c++ {
		b := d.get(uint32(c))
		w := word(b)
		i := dictHash(b, w) >> d.shift
		for d.table[i].code != 0 {
			i = (i + 1) & mask
		}
		d.table[i] = dictSlot{w: w, n: uint32(len(b)), code: uint32(c) + 1}
	}
}

// mergeDicts interns the keys of every part into one dictionary and returns
// it with, for each part, the table from the part's codes to the merged
// codes.
func mergeDicts(parts []*dict) (*dict, [][]uint32) {
	g := newDict()
	remap := make([][]uint32, len(parts))
	for p, d := range parts {
		if d == nil {
			continue
		}
		r := make([]uint32, d.len())
		for c := range r {
			b := d.get(uint32(c))
			r[c] = g.intern(b, word(b))
		}
		remap[p] = r
	}
	return g, remap
}
