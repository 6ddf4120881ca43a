package columns

import "slices"

// Nodes returns the node declarations in declaration order.
func (c *Catalog) Nodes() []Node { return slices.Clone(c.nodes) }
