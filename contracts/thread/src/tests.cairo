pub mod test_doubles;
mod test_thread_ready;
