import { AppError } from '../../core/errors';

/**
 * EventBridge refused the outcome event. The worker throws it so Lambda
 * retries the invocation and, when retries run out, the OnFailure
 * destination records the failure: the outcome is never silently lost.
 */
export class EventDeliveryError extends AppError {}
