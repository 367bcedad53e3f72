// Shared by the suites that drive the stand-ins with the real SDK clients.
/** An AWS SDK v3 service exception, as far as tests look at it. */
export type AwsSdkError = Error & {
  readonly $fault?: string;
  readonly $metadata: { readonly httpStatusCode?: number; readonly attempts?: number };
};

/** The rejection of `promise`, which must reject (the test fails if it resolves). */
export async function awsFailure(promise: Promise<unknown>): Promise<AwsSdkError> {
  try {
    await promise;
  } catch (error) {
    return error as AwsSdkError;
  }
  throw new Error('expected the call to fail');
}
