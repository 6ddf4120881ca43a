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
	preM   uint64 // mask of the prefix bytes
	digM   uint64 // mask of the digits, shifted down to the low bytes
	align  uint   // shift that right-aligns the digits in a word
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
	s.preM = 1<<(8*s.preLen) - 1
	s.pre = k & s.preM
	s.digM = 1<<(8*uint(d)) - 1
	s.align = 64 - 8*uint(d)
	size := 1
	for range d {
		size *= 10
	}
	s.bits = make([]uint64, (size+63)/64)
}

func isDigitByte(c byte) bool { return c-'0' <= 9 }

func (s *idSet) add(k uint64) {
	// A key of the set's shape is a bit: its digits are checked and
	// converted to its number eight bytes at a time.
	d := k >> (8 * s.preLen) & s.digM
	if s.shaped && k>>56 == s.n && k&s.preM == s.pre && ((d+0x4646464646464646)|(d-0x3030303030303030))&s.digM&0x8080808080808080 == 0 {
		// (A byte not a digit, the lowest one, sets its top bit above.)
		x := (d - 0x3030303030303030) & s.digM << s.align
		x = (x*10 + x>>8) & 0x00FF00FF00FF00FF
		x = (x*100 + x>>16) & 0x0000FFFF0000FFFF
		x = (x*10000 + x>>32) & 0xFFFFFFFF
		s.bits[x>>6] |= 1 << (x & 63)
		return
	}
	s.addOther(k)
}

func (s *idSet) addOther(k uint64) {
	if !s.seen {
		s.shape(k)
		s.add(k)
		return
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
