package cli

import (
	"strings"

	"github.com/salesdag/salesdag/internal/lineage"
)

// transformationText is "DIRECT/AGGREGATION: sum of amount per day".
func transformationText(ts []lineage.Transformation) string {
	if len(ts) == 0 {
		return "-"
	}
	parts := make([]string, len(ts))
	for i, t := range ts {
		s := t.Type
		if t.Subtype != "" {
			s += "/" + t.Subtype
		}
		if t.Description != "" {
			s += ": " + t.Description
		}
		if t.Masking {
			s += " (masked)"
		}
		parts[i] = s
	}
	return strings.Join(parts, "; ")
}
