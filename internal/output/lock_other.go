//go:build !unix

package output

import "time"

// lockedLeftoverAge: without flock, a leftover is taken as stale only
// when it is a day old (no run takes that long to write its files).
const lockedLeftoverAge = 24 * time.Hour

// lockDir cannot lock here: it cleans only old leftovers.
func lockDir(_ string, clean func()) (unlock func()) {
	clean()
	return func() {}
}
