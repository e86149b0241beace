package org.simdconv.conv;

import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.function.Function;
import org.simdconv.tensor.Tensor;

/**
 * The plans behind a {@link Conv2d}'s own pass methods, one per geometry, bounded in bytes: when a
 * new plan is added and the plans' {@linkplain Conv2dPlan#retainedBytes() retained bytes} exceed
 * the budget, the least recently used ones are dropped (and the garbage collector frees their
 * memory). The last plan used is found without a lookup, so that a call of a training loop, which
 * repeats the shapes of the one before, allocates nothing.
 */
final class PlanCache {

    /** Bytes the plans of one {@code Conv2d} may keep before the least recently used are dropped. */
    static final long BUDGET_BYTES = 256L << 20;

    private final long budget;
    /** Access-ordered: the eldest entry is the least recently used. */
    private final LinkedHashMap<Conv2dGeometry, Conv2dPlan> plans = new LinkedHashMap<>(16, 0.75f, true);
    private volatile Conv2dPlan last;

    PlanCache(long budget) {
        this.budget = budget;
    }

    long budget() {
        return budget;
    }

    /** The last plan used, when it is the plan of tensors of these shapes; else null. */
    Conv2dPlan lastFor(Tensor input, Tensor weight) {
        Conv2dPlan plan = last;
        return plan != null && input.hasShape(plan.geometryInputShape()) && weight.hasShape(plan.geometryWeightShape())
                ? plan : null;
    }

    /** The plan of {@code g}, made by {@code make} when there is none. */
    synchronized Conv2dPlan plan(Conv2dGeometry g, Function<Conv2dGeometry, Conv2dPlan> make) {
        Conv2dPlan plan = plans.get(g);
        if (plan == null) {
            plan = make.apply(g);
            plans.put(g, plan);
            trim();
        }
        last = plan;
        return plan;
    }

    /** Drops the least recently used plans (never the newest) while the plans keep more than the budget. */
    private void trim() {
        long total = 0;
        for (Conv2dPlan plan : plans.values()) {
            total += plan.retainedBytes();
        }
        Iterator<Conv2dPlan> eldestFirst = plans.values().iterator();
        while (total > budget && plans.size() > 1 && eldestFirst.hasNext()) {
            Conv2dPlan eldest = eldestFirst.next();
            total -= eldest.retainedBytes();
            eldestFirst.remove();
        }
    }

    synchronized int size() {
        return plans.size();
    }

    synchronized long retainedBytes() {
        long total = 0;
        for (Conv2dPlan plan : plans.values()) {
            total += plan.retainedBytes();
        }
        return total;
    }
}
