package lineage_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/salesdag/salesdag/internal/lineage"
)

const (
	pid = "0190d9b4-7c6e-7a4e-9a57-2f4f1d6c9b10"
	rid = "0190d9b4-7c6e-7a4e-9a57-2f4f1d6c9b11"
)

func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestParentFromEnv(t *testing.T) {
	cases := []struct {
		name       string
		env        map[string]string
		wantParent string // RunRef.String(), "" for none
		wantRoot   string
		wantErr    string
	}{
		{name: "nothing set", env: nil},
		{name: "parent id", env: map[string]string{"OPENLINEAGE_PARENT_ID": "airflow/etl.load/" + pid}, wantParent: "airflow/etl.load/" + pid},
		{name: "parent and root", env: map[string]string{"OPENLINEAGE_PARENT_ID": "airflow/etl.load/" + pid, "OPENLINEAGE_ROOT_PARENT_ID": "airflow/etl/" + rid}, wantParent: "airflow/etl.load/" + pid, wantRoot: "airflow/etl/" + rid},
		{name: "job name with slashes", env: map[string]string{"OPENLINEAGE_PARENT_ID": "ns/a/b/c/" + pid}, wantParent: "ns/a/b/c/" + pid},
		{name: "two parts", env: map[string]string{"OPENLINEAGE_PARENT_ID": "airflow/" + pid}, wantErr: "OPENLINEAGE_PARENT_ID"},
		{name: "no slash", env: map[string]string{"OPENLINEAGE_PARENT_ID": pid}, wantErr: "namespace/job/runId"},
		{name: "empty namespace", env: map[string]string{"OPENLINEAGE_PARENT_ID": "/job/" + pid}, wantErr: "empty namespace"},
		{name: "bad run id", env: map[string]string{"OPENLINEAGE_PARENT_ID": "ns/job/run-1"}, wantErr: "not a UUID"},
		{name: "bad root", env: map[string]string{"OPENLINEAGE_PARENT_ID": "ns/job/" + pid, "OPENLINEAGE_ROOT_PARENT_ID": "x"}, wantErr: "OPENLINEAGE_ROOT_PARENT_ID"},
		{name: "root without parent", env: map[string]string{"OPENLINEAGE_ROOT_PARENT_ID": "ns/job/" + rid}, wantErr: "is not"},
		{
			name: "context with root inside parent",
			env: map[string]string{"OPENLINEAGE_CONTEXT": `{"parent":{"run":{"runId":"` + pid + `"},"job":{"namespace":"af","name":"d.t"},"root":{"run":{"runId":"` + rid + `"},"job":{"namespace":"af","name":"d"}}}}`,
				"OPENLINEAGE_PARENT_ID": "ignored/when/context-is-set"},
			wantParent: "af/d.t/" + pid, wantRoot: "af/d/" + rid,
		},
		{
			name:       "context with root beside parent",
			env:        map[string]string{"OPENLINEAGE_CONTEXT": `{"parent":{"run":{"runId":"` + pid + `"},"job":{"namespace":"af","name":"d.t"}},"root":{"run":{"runId":"` + rid + `"},"job":{"namespace":"af","name":"d"}}}`},
			wantParent: "af/d.t/" + pid, wantRoot: "af/d/" + rid,
		},
		{name: "context without root", env: map[string]string{"OPENLINEAGE_CONTEXT": `{"parent":{"run":{"runId":"` + pid + `"},"job":{"namespace":"af","name":"d.t"}}}`}, wantParent: "af/d.t/" + pid},
		{name: "context not json", env: map[string]string{"OPENLINEAGE_CONTEXT": `{parent`}, wantErr: "not valid JSON"},
		{name: "context without parent", env: map[string]string{"OPENLINEAGE_CONTEXT": `{}`}, wantErr: `no "parent"`},
		{name: "context without job", env: map[string]string{"OPENLINEAGE_CONTEXT": `{"parent":{"run":{"runId":"` + pid + `"}}}`}, wantErr: "needs both"},
		{name: "context with empty job", env: map[string]string{"OPENLINEAGE_CONTEXT": `{"parent":{"run":{"runId":"` + pid + `"},"job":{"namespace":"","name":"x"}}}`}, wantErr: "namespace and a name"},
		{name: "context bad run id", env: map[string]string{"OPENLINEAGE_CONTEXT": `{"parent":{"run":{"runId":"x"},"job":{"namespace":"a","name":"b"}}}`}, wantErr: "not a UUID"},
		{name: "context bad root", env: map[string]string{"OPENLINEAGE_CONTEXT": `{"parent":{"run":{"runId":"` + pid + `"},"job":{"namespace":"a","name":"b"},"root":{"run":{"runId":"` + rid + `"}}}}`}, wantErr: "root needs"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pc, err := lineage.ParentFromEnv(envOf(tc.env))
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				require.Nil(t, pc)
				return
			}
			require.NoError(t, err)
			if tc.wantParent == "" {
				require.Nil(t, pc)
				return
			}
			require.Equal(t, tc.wantParent, pc.Parent.String())
			if tc.wantRoot == "" {
				require.Nil(t, pc.Root)
			} else {
				require.Equal(t, tc.wantRoot, pc.Root.String())
			}
		})
	}
}
