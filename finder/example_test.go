package finder_test

import (
	"fmt"
	"time"

	"github.com/lkg-dev/lkg/finder"
	"github.com/lkg-dev/lkg/types"
)

func ExampleRankBuilds() {
	goods := []finder.Good{{Tag: "v3.13.1"}, {Tag: "v3.13.0"}}
	builds := []finder.Build{
		{Image: "reg/app:v3.13.0", GoodTag: "v3.13.0", Match: finder.MatchExact, RankTime: time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)},
		{Image: "reg/app:v3.13.1", GoodTag: "v3.13.1", Match: finder.MatchTag, RankTime: time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)},
		{Image: "reg/app:sha-1a2b3c4", GoodTag: "v3.13.1", Match: finder.MatchTree, RankTime: time.Date(2026, 11, 19, 0, 0, 0, 0, time.UTC)},
		{Image: "reg/app:sha-9f8e7d6", GoodTag: "v3.13.1", Match: finder.MatchExact, RankTime: time.Date(2026, 11, 18, 0, 0, 0, 0, time.UTC)},
	}
	finder.RankBuilds(builds, goods)
	for _, b := range builds {
		fmt.Println(b.GoodTag, b.Match, b.Image)
	}
	// Output:
	// v3.13.1 exact reg/app:sha-9f8e7d6
	// v3.13.1 tree reg/app:sha-1a2b3c4
	// v3.13.1 tag reg/app:v3.13.1
	// v3.13.0 exact reg/app:v3.13.0
}

func ExampleClassifySources() {
	good := finder.Good{Tag: "v3.13.1", Commit: "c0ffee", Tree: "7ree"}
	states := []types.RefState{
		{Ref: "refs/heads/main", Remote: "origin", Commit: "bad1", Tree: "t1", ContainsGood: true, ContainsBad: true, Ahead: 12},
		{Ref: "refs/heads/hotfix", Remote: "origin", Commit: "f1x", Tree: "t2", ContainsGood: true, Ahead: 2},
		{Ref: "refs/heads/alice/prod", Remote: "origin", Commit: "c0ffee", Tree: "7ree", ContainsGood: true},
		{Ref: "refs/heads/rebased", Commit: "5ame", Tree: "7ree", Ahead: 5},
	}
	sources, excluded := finder.ClassifySources(good, states, true)
	for _, s := range sources {
		fmt.Printf("%-8s %-22s ahead %d\n", s.Match, s.Ref, s.Ahead)
	}
	fmt.Println("excluded (contain the bad commit):", excluded)
	// Output:
	// exact    refs/heads/alice/prod  ahead 0
	// tree     refs/heads/rebased     ahead 5
	// contains refs/heads/hotfix      ahead 2
	// excluded (contain the bad commit): 1
}
