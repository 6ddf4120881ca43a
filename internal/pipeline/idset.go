package pipeline

import "math/bits"

// idSet is an exact set of inline id keys (idKey) for distinct counts.
// Ids are mostly a fixed prefix and a fixed number of digits (C00042):
// the first id the set sees fixes that shape, and ids of that shape are a
// bit in a bit set indexed by their number (one bit per possible id, in
// cache, where a hash set costs a cache miss per row). Any other id goes to
// a hash set, so the set is exact for every input.
type idSet struct {
	shaped bool
	n      uint64 // id length: prefix + digits
	pre    uint64 // prefix bytes
	preLen uint
	digits int
	bits   []uint64
	other  *bufferedSet
	seen   bool
}

const maxIDDigits = 6 // a bit set of 10^6 bits (125 KiB) at most

func newIDSet() *idSet { return &idSet{other: newBufferedSet()} }

// shape fixes the shape from the first key: the trailing digits and the
// bytes before them.
func (s *idSet) shape(k uint64) {
	s.seen = true
	n := int(k >> 56)
	d := 0
	for d < n && isDigitByte(byte(k>>(8*uint(n-1-d)))) {
		d++
	}
	if d == 0 || d > maxIDDigits {
		return
	}
	s.shaped, s.n, s.preLen, s.digits = true, uint64(n), uint(n-d), d
	s.pre = k & (1<<(8*s.preLen) - 1)
	size := 1
	for range d {
		size *= 10
	}
	s.bits = make([]uint64, (size+63)/64)
}

func isDigitByte(c byte) bool { return c-'0' <= 9 }

// index returns the number of a key of the set's shape.
func (s *idSet) index(k uint64) (int, bool) {
	if k>>56 != s.n || k&(1<<(8*s.preLen)-1) != s.pre {
		return 0, false
	}
	v := 0
	for i := range s.digits {
		c := byte(k >> (8 * (s.preLen + uint(i))))
		if !isDigitByte(c) {
			return 0, false
		}
		v = v*10 + int(c-'0')
	}
	return v, true
}

func (s *idSet) add(k uint64) {
	if !s.seen {
		s.shape(k)
	}
	if s.shaped {
		if i, ok := s.index(k); ok {
			s.bits[i>>6] |= 1 << (i & 63)
			return
		}
	}
	s.other.add(k)
}

// key rebuilds the key of number v.
func (s *idSet) key(v int) uint64 {
	k := s.pre | s.n<<56
	for i := s.digits - 1; i >= 0; i-- {
		k |= uint64('0'+v%10) << (8 * (s.preLen + uint(i)))
		v /= 10
	}
	return k
}

// merge adds every key of o.
func (s *idSet) merge(o *idSet) {
	if s.shaped && o.shaped && s.n == o.n && s.pre == o.pre && s.preLen == o.preLen {
		for i, w := range o.bits {
			s.bits[i] |= w
		}
	} else if o.shaped {
		eachBit(o.bits, func(v int) { s.add(o.key(v)) })
	}
	o.other.flush()
	for _, part := range o.other.parts {
		part.each(s.add)
	}
}

func (s *idSet) len() int64 {
	n := int64(s.other.len())
	for _, w := range s.bits {
		n += int64(bits.OnesCount64(w))
	}
	return n
}
