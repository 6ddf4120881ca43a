package lineage_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/salesdag/salesdag/internal/lineage"
)

// publishedFacetSchemas are the custom facet schemas as published. A
// published file is never edited: a change to a facet is a new version
// directory (and tag), with a new line here.
var publishedFacetSchemas = map[string]string{
	"1-0-0/SalesdagCacheRunFacet.json":  "7b19263fab195717be06c48469776f4014b02ebd6c83cdbbe31e32de6293a090",
	"1-0-0/SalesdagChecksRunFacet.json": "9c83b6c9c5c2636e7239faeb24f96072056572721b7656e13484550e7f273e5b",
	"1-0-0/SalesdagEngineRunFacet.json": "7e727323d506f8640697e64ba5c191b8bb11727600dae6b8a7d4de0a53e4b052",
	"1-0-0/SalesdagRowsRunFacet.json":   "d63705a1af62a48a2027017ab45ebfb429a9e456265fb705779652396151cba0",
}

// TestCustomFacetSchemasArePublishedOnce: every schema under docs/facets
// is listed with its checksum, sits at the path its $id names (a version
// tag, never a branch), and CustomFacetSchemaURL points into it.
func TestCustomFacetSchemasArePublishedOnce(t *testing.T) {
	root := filepath.Join("..", "..", "docs", "facets")
	files, err := filepath.Glob(filepath.Join(root, "*", "*.json"))
	require.NoError(t, err)
	require.Len(t, files, len(publishedFacetSchemas))
	for _, f := range files {
		rel := filepath.ToSlash(strings.TrimPrefix(f, root+string(filepath.Separator)))
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		sum := sha256.Sum256(b)
		want, ok := publishedFacetSchemas[rel]
		require.True(t, ok, "%s is not listed as published", rel)
		require.Equal(t, want, hex.EncodeToString(sum[:]), "%s was edited after it was published: add a new version instead", rel)

		var doc struct {
			ID   string                     `json:"$id"`
			Defs map[string]json.RawMessage `json:"$defs"`
		}
		require.NoError(t, json.Unmarshal(b, &doc))
		version, file := filepath.Dir(rel), filepath.Base(rel)
		name := strings.TrimSuffix(file, ".json")
		require.Equal(t, lineage.Producer+"/blob/facets-"+version+"/docs/facets/"+rel, doc.ID)
		require.Contains(t, doc.Defs, name)
		require.True(t, strings.HasPrefix(name, "Salesdag"), "custom facets carry the producer's prefix")
		require.Equal(t, doc.ID+"#/$defs/"+name, lineage.CustomFacetSchemaURL(name))
	}
}
