import type { Reporter, TestCase, TestModule } from 'vitest/node';

/**
 * Prints the plain closing line CI reads: `N passed, N failed, N skipped`. A test file that fails
 * to load (import error, crash in a hook) counts as one failure, so a broken file cannot hide.
 */
export default class SummaryReporter implements Reporter {
  private passed = 0;
  private failed = 0;
  private skipped = 0;

  onTestCaseResult(testCase: TestCase): void {
    const state = testCase.result().state;
    if (state === 'passed') this.passed++;
    else if (state === 'failed') this.failed++;
    else this.skipped++;
  }

  onTestRunEnd(testModules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<unknown>): void {
    for (const m of testModules) {
      const hasFailedCase = [...m.children.allTests()].some((t) => t.result().state === 'failed');
      if (m.state() === 'failed' && !hasFailedCase) this.failed++;
    }
    this.failed += unhandledErrors.length;
    process.stdout.write(`\n${this.passed} passed, ${this.failed} failed, ${this.skipped} skipped\n`);
  }
}
