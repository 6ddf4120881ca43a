package app

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/salesdag/salesdag/internal/dbio"
	"github.com/salesdag/salesdag/internal/frame"
)

func TestDatabaseDatasetNames(t *testing.T) {
	tests := []struct {
		name string
		loc  dbio.Location
		want DatasetRef
		uri  string
	}{
		{"postgres table", dbio.Location{Kind: dbio.Postgres, Host: "db.example", Port: 5432, Database: "shop", Schema: "reports", Table: "weekly_aggregation"},
			DatasetRef{Namespace: "postgres://db.example:5432", Name: "shop.reports.weekly_aggregation"}, "postgres://db.example:5432/shop"},
		{"postgres query", dbio.Location{Kind: dbio.Postgres, Host: "::1", Port: 6543, Database: "shop", Query: "SELECT 1"},
			DatasetRef{Namespace: "postgres://[::1]:6543", Name: "shop.query_e004ebd5b5532a4b"}, "postgres://[::1]:6543/shop"},
		{"sqlite table", dbio.Location{Kind: dbio.SQLite, Path: "/data/results.db", Table: "trend_analysis"},
			DatasetRef{Namespace: "file", Name: "/data/results.db/trend_analysis"}, "file:///data/results.db"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, dbDatasetRef(tc.loc))
			require.Equal(t, tc.uri, dbSourceURI(tc.loc))
		})
	}
	ds := dbOutputDatasets([]dbio.Written{{Table: "t", Location: tests[0].loc, Rows: 7, Schema: []frame.Field{{Name: "date", Type: "date"}}}})
	require.Len(t, ds, 1)
	require.Equal(t, int64(7), *ds[0].OutputFacets.OutputStatistics.RowCount)
	require.Nil(t, ds[0].OutputFacets.OutputStatistics.Size)
	require.Equal(t, "date", ds[0].Facets.Schema.Fields[0].Type)
	require.Equal(t, "postgres://db.example:5432/shop", ds[0].Facets.DataSource.URI)
}
