package cli

import (
	"reflect"
	"testing"

	"github.com/lkg-dev/lkg/internal/config"
	"github.com/lkg-dev/lkg/suspects"
)

func TestRiskRules(t *testing.T) {
	cfg, err := config.Parse(".lkg.yaml", []byte(`risk:
  build: []                 # off
  payment: [app/main.go]    # new
  config: [config/*.yaml]   # replaced
  infra: "*.tf"             # one pattern
`))
	if err != nil {
		t.Fatal(err)
	}
	got := riskRules(cfg)
	var want []suspects.RiskRule
	for _, r := range suspects.DefaultRiskRules() {
		switch r.Category {
		case suspects.RiskBuild:
			r.Patterns = []string{}
		case suspects.RiskConfig:
			r.Patterns = []string{"config/*.yaml"}
		case suspects.RiskInfra:
			r.Patterns = []string{"*.tf"}
		}
		want = append(want, r)
	}
	want = append(want, suspects.RiskRule{Category: "payment", Patterns: []string{"app/main.go"}})
	if !reflect.DeepEqual(got, want) {
		t.Errorf("rules =\n%v\nwant\n%v", got, want)
	}
	if got := riskRules(&config.Config{}); !reflect.DeepEqual(got, suspects.DefaultRiskRules()) {
		t.Errorf("no risk key: %v; want the defaults", got)
	}
}
