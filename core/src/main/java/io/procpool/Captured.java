package io.procpool;

/**
 * A task's result together with what it printed, as {@link Pool#submitCaptured} returns it.
 *
 * @param <O> the type of the result
 * @param value the task's result
 * @param output what the task printed on System.out and System.err while it ran
 */
public record Captured<O>(O value, TaskOutput output) {}
