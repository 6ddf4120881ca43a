package cache

import "fmt"

// Policy says how the cache treats one node, as Hamilton's cache does.
type Policy uint8

const (
	// PolicyDefault reuses a stored result when the node's key matches,
	// else computes the node and stores the result.
	PolicyDefault Policy = iota
	// PolicyRecompute always computes the node and stores the result,
	// and so does everything downstream of it: a result you distrust must
	// not feed cached results built on it.
	PolicyRecompute
	// PolicyDisable neither reads nor writes the node's result. Its key
	// still flows to its dependents, which are cached as usual. This is
	// the default for row-level tables, which cost more to store and load
	// than to recompute.
	PolicyDisable
)

// String returns "default", "recompute" or "disable".
func (p Policy) String() string {
	switch p {
	case PolicyDefault:
		return "default"
	case PolicyRecompute:
		return "recompute"
	case PolicyDisable:
		return "disable"
	}
	return fmt.Sprintf("Policy(%d)", uint8(p))
}

// Status is what happened to a node.
type Status string

const (
	StatusHit         Status = "hit"         // result loaded from the cache, node not run
	StatusMiss        Status = "miss"        // no usable entry: node computed
	StatusRecomputed  Status = "recomputed"  // computed because of PolicyRecompute
	StatusDisabled    Status = "disabled"    // computed, PolicyDisable: not read or written
	StatusUncacheable Status = "uncacheable" // computed; no codec or no key (Err says why)
	StatusSkipped     Status = "skipped"     // not needed: every consumer was a hit
	StatusStored      Status = "stored"      // result written to the cache
	StatusCorrupt     Status = "corrupt"     // an entry was unreadable; treated as a miss
	StatusError       Status = "error"       // a cache operation failed; the run goes on
)
