/// Learning-rate schedules with transformers' semantics (`get_linear_schedule_with_warmup`,
/// `get_constant_schedule_with_warmup`): the factor for the update at 0-based `step`.
public enum LearningRateSchedule: String, Codable, Sendable, CaseIterable {
    case linear
    case constant

    public func factor(step: Int, warmupSteps: Int, totalSteps: Int) -> Float {
        if step < warmupSteps {
            return Float(step) / Float(max(1, warmupSteps))
        }
        switch self {
        case .constant:
            return 1
        case .linear:
            return max(0, Float(totalSteps - step) / Float(max(1, totalSteps - warmupSteps)))
        }
    }
}
